#include "gradscope/instruments/grad_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include "gradscope/ops/simd.hpp"

namespace gradscope {

namespace {

// The statistics pass is throughput-bound: seven vector operations per group of elements (load,
// |x|, x² added by a fused multiply-add where the CPU has one, sum, max, compare, count); carrying
// the gradient through an activation's slope takes five. It is written with GCC/Clang vector
// types (see sweep() below).
using simd::Lanes;
using simd::load;

struct Partial {
  double sq = 0, ab = 0, mx = 0;
  std::uint64_t zeros = 0, nan = 0, inf = 0;
  double carried = 0;  // Σ (x σ')², when the sweep carries a slope
};

// Where the square of the largest entry stops being exact (subnormal) or overflows, give or take
// enough margin that the squares' sum keeps full precision: outside, the sums are taken again over
// the entries scaled by a power of two.
constexpr double kTiny = 0x1p-400, kHuge = 0x1p400;
bool out_of_range(double max_abs) {
  return max_abs != 0 && !(max_abs >= kTiny && max_abs <= kHuge);
}
double power_of_two_below(double x) { return std::ldexp(1.0, std::ilogb(x)); }

// y = x σ' with σ' from v (see slope_norm), on vectors or on one double. References, not values,
// for the ABI reason given at load().
template <Slope S, class D>
inline __attribute__((always_inline)) void carry(D& y, const D& x, const D& v, const D& leak) {
  const D zero{}, one = zero + 1.0;
  if constexpr (S == Slope::Relu) y = v > zero ? x : zero;
  if constexpr (S == Slope::LeakyRelu) y = v > zero ? x : x * leak;
  if constexpr (S == Slope::Sigmoid) y = x * v * (one - v);
  if constexpr (S == Slope::Tanh) y = x * (one - v * v);
}

// What one sweep over a gradient d computes: its statistics (Σ|x|², Σ|x|, max |x|, the count of
// exact zeros), or Σ (x σ')² with σ' from u.
struct NoSlope {};
template <Slope S>
struct WithSlope {
  static constexpr Slope slope = S;
};

// f(WithSlope<slope>{}): the slope chosen at run time becomes a type, so that the loops f runs
// hold no switch.
template <class F>
inline __attribute__((always_inline)) decltype(auto) with_slope(Slope slope, F&& f) {
  switch (slope) {
    case Slope::Relu:
      return f(WithSlope<Slope::Relu>{});
    case Slope::LeakyRelu:
      return f(WithSlope<Slope::LeakyRelu>{});
    case Slope::Sigmoid:
      return f(WithSlope<Slope::Sigmoid>{});
    case Slope::Tanh:
      break;
  }
  return f(WithSlope<Slope::Tanh>{});
}

// The sweep. NaN and ±Inf are not set aside here: they make sq (and carried) non-finite, which the
// caller checks. Accumulates in blocks of kBlock elements whose partial sums are then added, so
// that the rounding error of a sum grows with the block length plus the number of blocks rather
// than with n. kAcc independent accumulators per figure hide the adder's latency (one chain of
// dependent additions would leave the adders idle most cycles); with more, the sixteen vector
// registers no longer hold them all. |x| clears the sign bit, exact zeros are counted by
// subtracting the compare's all-ones mask: no branch per element.
template <int N, class Carry, class T>
inline __attribute__((always_inline)) Partial sweep(const T* d, const T* u, std::size_t n,
                                                    double leak) {
  using D = typename Lanes<N>::D;
  using I = typename Lanes<N>::I;
  constexpr bool kSlope = !std::is_same_v<Carry, NoSlope>, kStats = !kSlope;
  constexpr int kAcc = kStats ? 3 : 4;
  constexpr std::size_t kStep = kAcc * N, kBlock = 64 * kStep;
  const I magnitude = I{} + std::numeric_limits<std::int64_t>::max();  // every bit but the sign
  const D lk = D{} + leak;
  Partial out;
  std::size_t i = 0;
  while (n - i >= kStep) {
    D s[kAcc] = {}, a[kAcc] = {}, m[kAcc] = {}, c[kAcc] = {};
    I z[kAcc] = {};
    const std::size_t stop = i + std::min(kBlock, (n - i) / kStep * kStep);
    for (; i < stop; i += kStep) {
#pragma GCC unroll 4
      for (int k = 0; k < kAcc; ++k) {
        D x;
        load<N>(x, d + i + k * N);
        if constexpr (kSlope) {
          D v, y;
          load<N>(v, u + i + k * N);
          carry<Carry::slope>(y, x, v, lk);
          c[k] += y * y;
        }
        if constexpr (kStats) {
          x = D(I(x) & magnitude);
          s[k] += x * x;
          a[k] += x;
          m[k] = x > m[k] ? x : m[k];
          z[k] -= x == D{};
        }
      }
    }
    for (int k = 1; k < kAcc; ++k) {
      s[0] += s[k];
      a[0] += a[k];
      m[0] = m[0] > m[k] ? m[0] : m[k];
      z[0] += z[k];
      c[0] += c[k];
    }
    for (int k = 0; k < N; ++k) {
      out.sq += s[0][k];
      out.ab += a[0][k];
      out.mx = std::max(out.mx, m[0][k]);
      out.zeros += std::uint64_t(z[0][k]);
      out.carried += c[0][k];
    }
  }
  for (; i < n; ++i) {
    if constexpr (kSlope) {
      double y;
      carry<Carry::slope>(y, double(d[i]), double(u[i]), leak);
      out.carried += y * y;
    }
    if constexpr (kStats) {
      const double x = std::abs(double(d[i]));
      out.sq += x * x;
      out.ab += x;
      out.mx = std::max(out.mx, x);
      out.zeros += x == 0.0;
    }
  }
  return out;
}

// The sweep with the slope chosen at run time: the statistics without one.
template <int N, class T>
inline __attribute__((always_inline)) Partial sweep(std::optional<Slope> slope, const T* d,
                                                    const T* u, std::size_t n, double leak) {
  if (!slope) return sweep<N, NoSlope>(d, u, n, leak);
  return with_slope(*slope, [&](auto with) { return sweep<N, decltype(with)>(d, u, n, leak); });
}

// With FMA (simd.hpp), Σx² takes one instruction per vector instead of two.
#ifdef GRADSCOPE_MULTIVERSION
template <class T>
GRADSCOPE_AVX2_FMA Partial sweep_avx2(std::optional<Slope> slope, const T* d, const T* u,
                                      std::size_t n, double leak) {
  return sweep<4>(slope, d, u, n, leak);
}
template <class T>
Partial fast_sweep(std::optional<Slope> slope, const T* d, const T* u, std::size_t n, double leak) {
  return simd::avx2_fma() ? sweep_avx2(slope, d, u, n, leak) : sweep<2>(slope, d, u, n, leak);
}
#else
template <class T>
Partial fast_sweep(std::optional<Slope> slope, const T* d, const T* u, std::size_t n, double leak) {
  return sweep<simd::kLanes>(slope, d, u, n, leak);
}
#endif

// The statistics' pass for rare data, in a scalar loop: NaN and Inf are counted and left out, and
// the squares and magnitudes summed over the entries divided by unit (a power of two).
template <class T>
Partial finite_sums(const T* d, std::size_t n, double unit) {
  Partial p;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = std::abs(double(d[i]));
    if (!std::isfinite(a)) {
      ++(std::isnan(a) ? p.nan : p.inf);
      continue;
    }
    p.sq += (a / unit) * (a / unit);
    p.ab += a / unit;
    p.mx = std::max(p.mx, a);
    p.zeros += a == 0.0;
  }
  return p;
}

// GradSums of d from the sweep's figures p: again in the scalar pass where p shows NaN, Inf or
// entries outside the range in which squares are exact.
template <class T>
GradSums stats_of(Partial p, const T* d, std::size_t n) {
  if (!std::isfinite(p.sq)) p = finite_sums(d, n, 1.0);  // NaN or Inf (or squares overflowed)
  double unit = 1;
  if (out_of_range(p.mx)) {
    unit = power_of_two_below(p.mx);
    p = finite_sums(d, n, unit);
  }
  GradSums s;
  s.elements = n;
  s.zeros = p.zeros;
  s.nan = p.nan;
  s.inf = p.inf;
  s.max_abs = p.mx;
  s.l2 = std::sqrt(p.sq) * unit;
  const auto finite = double(n - s.nonfinite());
  if (finite > 0) s.mean_abs = p.ab / finite * unit;
  return s;
}

// ‖g σ'‖ from the sweep's Σ (g σ')²; where that sum left the range in which squares are exact
// (or every product is 0), again in a scalar loop over the products scaled by a power of two.
template <class T>
double carried_of(double sum, Slope slope, const T* g, const T* u, std::size_t n, double leak) {
  if (std::isnan(sum) || (sum >= kTiny * kTiny && sum <= kHuge * kHuge)) return std::sqrt(sum);
  return with_slope(slope, [&](auto s) {
    auto carried = [&](std::size_t i) {
      double y;
      carry<decltype(s)::slope>(y, double(g[i]), double(u[i]), leak);
      return y;
    };
    double mx = 0;
    for (std::size_t i = 0; i < n; ++i) mx = std::max(mx, std::abs(carried(i)));
    if (mx == 0 || std::isinf(mx)) return mx;
    const double unit = power_of_two_below(mx);
    double sq = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double y = carried(i) / unit;
      sq += y * y;
    }
    return std::sqrt(sq) * unit;
  });
}

}  // namespace

template <class T>
void GradSums::add(const T* d, std::size_t n) {
  merge(stats_of(fast_sweep(std::nullopt, d, static_cast<const T*>(nullptr), n, 0), d, n));
}

void GradSums::merge(const GradSums& o) {
  if (elements == 0) {
    *this = o;
    return;
  }
  const auto f = double(elements - nonfinite()), fo = double(o.elements - o.nonfinite());
  if (f + fo > 0) mean_abs = mean_abs * (f / (f + fo)) + o.mean_abs * (fo / (f + fo));
  l2 = combine_norms(l2, o.l2);
  max_abs = std::max(max_abs, o.max_abs);
  elements += o.elements;
  zeros += o.zeros;
  nan += o.nan;
  inf += o.inf;
}

GradStats GradSums::stats() const {
  GradStats s;
  s.elements = elements;
  s.nonfinite = nonfinite();
  s.l2 = l2;
  s.max_abs = max_abs;
  s.mean_abs = mean_abs;
  const auto finite = double(elements - nonfinite());
  if (finite > 0) s.rms = l2 / std::sqrt(finite);
  if (elements > 0) s.zero_share = double(zeros) / double(elements);
  return s;
}

double combine_norms(double a, double b) {
  const double s = a * a + b * b;
  return s >= kTiny * kTiny && s <= kHuge * kHuge ? std::sqrt(s) : std::hypot(a, b);
}

template <class T>
double l2_norm(const T* d, std::size_t n) {
  GradSums s;
  s.add(d, n);
  return s.nan ? std::numeric_limits<double>::quiet_NaN()
               : s.inf ? std::numeric_limits<double>::infinity() : s.l2;
}

template <class T>
double slope_norm(Slope slope, const T* g, const T* u, std::size_t n, double leak) {
  return carried_of(fast_sweep(slope, g, u, n, leak).carried, slope, g, u, n, leak);
}

template void GradSums::add<double>(const double*, std::size_t);
template void GradSums::add<float>(const float*, std::size_t);
template double l2_norm<double>(const double*, std::size_t);
template double l2_norm<float>(const float*, std::size_t);
template double slope_norm<double>(Slope, const double*, const double*, std::size_t, double);
template double slope_norm<float>(Slope, const float*, const float*, std::size_t, double);

}  // namespace gradscope
