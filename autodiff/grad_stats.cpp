#include "gradscope/autodiff/grad_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace gradscope {

namespace {

// The statistics pass is throughput-bound: eight vector operations per group of elements (load,
// |x|, x², two sums, max, compare, count). It is written with GCC/Clang vector types so that it
// keeps several independent accumulators per figure (one chain of dependent additions would leave
// the adders idle most cycles) and has no branch per element: |x| clears the sign bit, exact
// zeros are counted by subtracting the compare's all-ones mask.
template <int N>
struct Lanes;
template <>
struct Lanes<2> {  // SSE2, the x86-64 baseline
  typedef double D __attribute__((vector_size(16)));
  typedef std::int64_t I __attribute__((vector_size(16)));
  typedef float F __attribute__((vector_size(8)));
};
template <>
struct Lanes<4> {  // AVX2
  typedef double D __attribute__((vector_size(32)));
  typedef std::int64_t I __attribute__((vector_size(32)));
  typedef float F __attribute__((vector_size(16)));
};

// x = p[0..N) as doubles. (An output parameter: returning an AVX vector from a function that may
// be compiled without AVX is an ABI hazard GCC warns about, even where it is always inlined.)
template <int N, class T>
inline __attribute__((always_inline)) void load(typename Lanes<N>::D& x, const T* p) {
  if constexpr (std::is_same_v<T, double>) {
    std::memcpy(&x, p, sizeof x);
  } else {
    typename Lanes<N>::F f;
    std::memcpy(&f, p, sizeof f);
    x = __builtin_convertvector(f, typename Lanes<N>::D);
  }
}

struct Partial {
  double sq = 0, ab = 0, mx = 0;
  std::uint64_t zeros = 0, nan = 0, inf = 0;
};

// Where the square of the largest entry stops being exact (subnormal) or overflows, give or take
// enough margin that the squares' sum keeps full precision: outside, the sums are taken again over
// the entries scaled by a power of two.
constexpr double kTiny = 0x1p-400, kHuge = 0x1p400;
bool out_of_range(double max_abs) {
  return max_abs != 0 && !(max_abs >= kTiny && max_abs <= kHuge);
}
double power_of_two_below(double x) { return std::ldexp(1.0, std::ilogb(x)); }

// Sums of |x|², |x|, max |x| and the count of exact zeros. NaN and ±Inf are not set aside here:
// they make sq non-finite, which the caller checks. Accumulates in blocks of kBlock elements whose
// partial sums are then added, so that the rounding error of a sum grows with the block length
// plus the number of blocks rather than with n. kAcc independent accumulators per figure hide the
// adder's latency; with more, the sixteen vector registers no longer hold them all.
template <int N, class T>
inline __attribute__((always_inline)) Partial sums(const T* d, std::size_t n) {
  using D = typename Lanes<N>::D;
  using I = typename Lanes<N>::I;
  constexpr int kAcc = 3;
  constexpr std::size_t kStep = kAcc * N, kBlock = 64 * kStep;
  const I magnitude = I{} + std::numeric_limits<std::int64_t>::max();  // every bit but the sign
  Partial out;
  std::size_t i = 0;
  while (n - i >= kStep) {
    D s[kAcc] = {}, a[kAcc] = {}, m[kAcc] = {};
    I z[kAcc] = {};
    const std::size_t stop = i + std::min(kBlock, (n - i) / kStep * kStep);
    for (; i < stop; i += kStep) {
#pragma GCC unroll 4
      for (int k = 0; k < kAcc; ++k) {
        D x;
        load<N>(x, d + i + k * N);
        x = D(I(x) & magnitude);
        s[k] += x * x;
        a[k] += x;
        m[k] = x > m[k] ? x : m[k];
        z[k] -= x == D{};
      }
    }
    for (int k = 1; k < kAcc; ++k) {
      s[0] += s[k];
      a[0] += a[k];
      m[0] = m[0] > m[k] ? m[0] : m[k];
      z[0] += z[k];
    }
    for (int k = 0; k < N; ++k) {
      out.sq += s[0][k];
      out.ab += a[0][k];
      out.mx = std::max(out.mx, m[0][k]);
      out.zeros += std::uint64_t(z[0][k]);
    }
  }
  for (; i < n; ++i) {
    const double x = std::abs(double(d[i]));
    out.sq += x * x;
    out.ab += x;
    out.mx = std::max(out.mx, x);
    out.zeros += x == 0.0;
  }
  return out;
}

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

// ‖x σ'‖: Σ (x σ')² in kAcc independent accumulators; S selects the activation at compile time,
// so that the loop holds no switch.
template <int N, Slope S, class T>
inline __attribute__((always_inline)) double slope_norms(const T* g, const T* u, std::size_t n,
                                                         double leak) {
  using D = typename Lanes<N>::D;
  constexpr int kAcc = 4;
  constexpr std::size_t kStep = kAcc * N;
  const D lk = D{} + leak;
  D acc[kAcc] = {};
  std::size_t i = 0;
  for (; n - i >= kStep; i += kStep) {
#pragma GCC unroll 4
    for (int k = 0; k < kAcc; ++k) {
      D x, v, y;
      load<N>(x, g + i + k * N);
      load<N>(v, u + i + k * N);
      carry<S>(y, x, v, lk);
      acc[k] += y * y;
    }
  }
  for (int k = 1; k < kAcc; ++k) acc[0] += acc[k];
  double s = 0;
  for (int k = 0; k < N; ++k) s += acc[0][k];
  auto carried = [&](std::size_t i) {
    double y;
    carry<S>(y, double(g[i]), double(u[i]), leak);
    return y;
  };
  for (; i < n; ++i) {
    const double y = carried(i);
    s += y * y;
  }
  if (std::isnan(s) || (s >= kTiny * kTiny && s <= kHuge * kHuge)) return std::sqrt(s);
  // Rare: the squares left the double range, or every product is 0. Again in a scalar loop, over
  // the products scaled by a power of two from the largest.
  double mx = 0;
  for (i = 0; i < n; ++i) mx = std::max(mx, std::abs(carried(i)));
  if (mx == 0 || std::isinf(mx)) return mx;
  const double unit = power_of_two_below(mx);
  s = 0;
  for (i = 0; i < n; ++i) {
    const double y = carried(i) / unit;
    s += y * y;
  }
  return std::sqrt(s) * unit;
}

template <int N, class T>
inline __attribute__((always_inline)) double slope_norms(Slope slope, const T* g, const T* u,
                                                         std::size_t n, double leak) {
  switch (slope) {
    case Slope::Relu:
      return slope_norms<N, Slope::Relu>(g, u, n, leak);
    case Slope::LeakyRelu:
      return slope_norms<N, Slope::LeakyRelu>(g, u, n, leak);
    case Slope::Sigmoid:
      return slope_norms<N, Slope::Sigmoid>(g, u, n, leak);
    case Slope::Tanh:
      break;
  }
  return slope_norms<N, Slope::Tanh>(g, u, n, leak);
}

// On x86-64 the default build targets the baseline (SSE2); GCC and Clang compile an AVX2 version
// beside it and pick one when the program loads (function multiversioning), so a CPU with AVX2
// gets 4-wide vectors without -march=native.
#if defined(__x86_64__) && !defined(__AVX2__)
#define GRADSCOPE_MULTIVERSION 1
#endif

#ifdef GRADSCOPE_MULTIVERSION
#define GRADSCOPE_KERNELS(T)                                                                     \
  __attribute__((target("avx2"))) Partial fast_sums(const T* d, std::size_t n) {                 \
    return sums<4>(d, n);                                                                        \
  }                                                                                              \
  __attribute__((target("default"))) Partial fast_sums(const T* d, std::size_t n) {              \
    return sums<2>(d, n);                                                                        \
  }                                                                                              \
  __attribute__((target("avx2"))) double fast_slope_norms(Slope s, const T* g, const T* u,       \
                                                          std::size_t n, double leak) {          \
    return slope_norms<4>(s, g, u, n, leak);                                                     \
  }                                                                                              \
  __attribute__((target("default"))) double fast_slope_norms(Slope s, const T* g, const T* u,    \
                                                             std::size_t n, double leak) {       \
    return slope_norms<2>(s, g, u, n, leak);                                                     \
  }
GRADSCOPE_KERNELS(double)
GRADSCOPE_KERNELS(float)
#undef GRADSCOPE_KERNELS
#else
#if defined(__AVX2__)
constexpr int kLanes = 4;
#else
constexpr int kLanes = 2;
#endif
template <class T>
Partial fast_sums(const T* d, std::size_t n) {
  return sums<kLanes>(d, n);
}
template <class T>
double fast_slope_norms(Slope s, const T* g, const T* u, std::size_t n, double leak) {
  return slope_norms<kLanes>(s, g, u, n, leak);
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

}  // namespace

template <class T>
void GradSums::add(const T* d, std::size_t n) {
  Partial p = fast_sums(d, n);
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
  merge(s);
}

void GradSums::merge(const GradSums& o) {
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
  return fast_slope_norms(slope, g, u, n, leak);
}

template void GradSums::add<double>(const double*, std::size_t);
template void GradSums::add<float>(const float*, std::size_t);
template double l2_norm<double>(const double*, std::size_t);
template double l2_norm<float>(const float*, std::size_t);
template double slope_norm<double>(Slope, const double*, const double*, std::size_t, double);
template double slope_norm<float>(Slope, const float*, const float*, std::size_t, double);

}  // namespace gradscope
