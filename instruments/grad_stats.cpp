#include "gradscope/instruments/grad_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "gradscope/ops/simd.hpp"

namespace gradscope {

namespace {

// The statistics pass is throughput-bound: seven vector operations per group of elements (load,
// |x|, x² added by a fused multiply-add where the CPU has one, sum, max, compare, count). It is
// written with GCC/Clang vector types (see sweep() below).
using simd::Lanes;
using simd::load;

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
// Whether a sum of squares is in the range where its square root is the norm to full precision.
bool squares_in_range(double sq) { return sq >= kTiny * kTiny && sq <= kHuge * kHuge; }

// The sweep's figures over d[i..n), one element at a time.
template <class T>
inline __attribute__((always_inline)) void sweep_tail(Partial& out, const T* d, std::size_t i,
                                                      std::size_t n) {
  for (; i < n; ++i) {
    const double x = std::abs(double(d[i]));
    out.sq += x * x;
    out.ab += x;
    out.mx = std::max(out.mx, x);
    out.zeros += x == 0.0;
  }
}

// Counts the exact zeros among the lanes of x (bits: |x|'s bits). With AVX-512 in a GCC build, in
// a general register, `zeros`: the test's mask register moved out and its bits counted, which
// takes an operation per vector off the vector units, the sweep's bound. In assembly, since GCC
// inlines no mask intrinsic into a body without a target of its own (this one is inlined into
// simd::run_avx512), and Clang accepts no such assembly there. Otherwise in z's lanes: adding 1
// under the compare's mask register (AVX-512), or subtracting the compare's all-ones lanes.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GRADSCOPE_ZEROS_IN_REGISTER 1
#endif
template <int N, class D, class I>
inline __attribute__((always_inline)) void count_zeros(I& z, [[maybe_unused]] std::uint64_t& zeros,
                                                       const D& x, [[maybe_unused]] const I& bits) {
#ifdef GRADSCOPE_ZEROS_IN_REGISTER
  if constexpr (N == 8) {
    std::uint64_t count;
    asm("vptestnmq %[b], %[b], %%k1\n\tkmovb %%k1, %k[c]\n\tpopcnt %[c], %[c]"
        : [c] "=r"(count)
        : [b] "v"(bits)
        : "k1");
    zeros += count;
    return;
  }
#endif
  if constexpr (N == 8)
    z = x == D{} ? z + 1 : z;
  else
    z -= x == D{};
}

// The sweep. NaN and ±Inf are not set aside here: they make sq non-finite, which the caller
// checks. Accumulates in blocks of kBlock elements whose partial sums are then added, so that the
// rounding error of a sum grows with the block length plus the number of blocks rather than with
// n. kAcc independent accumulators per figure hide the adder's latency (one chain of dependent
// additions would leave the adders idle most cycles); with more, the vector registers (sixteen
// with AVX2, thirty-two with AVX-512) no longer hold them all. |x| clears the sign bit; exact
// zeros are counted without a branch per element (count_zeros). With AVX-512 the maximum is taken
// over |x|'s bits as integers (M), which order as the non-negative doubles do: the CPU's 64-bit
// integer maximum (AVX-512 has one, AVX2 not) keeps up better than the floating-point one.
template <int N, class T>
inline __attribute__((always_inline)) Partial sweep(const T* d, std::size_t n) {
  using D = typename Lanes<N>::D;
  using I = typename Lanes<N>::I;
  using M = std::conditional_t<N == 8, I, D>;
  constexpr int kAcc = N == 8 ? 5 : 3;
  constexpr std::size_t kStep = kAcc * N, kBlock = 64 * kStep;
  const I magnitude = I{} + std::numeric_limits<std::int64_t>::max();  // every bit but the sign
  Partial out;
  std::size_t i = 0;
  while (n - i >= kStep) {
    D s[kAcc] = {}, a[kAcc] = {};
    M m[kAcc] = {};
    I z[kAcc] = {};
    std::uint64_t zeros = 0;
    const std::size_t stop = i + std::min(kBlock, (n - i) / kStep * kStep);
    for (; i < stop; i += kStep) {
#pragma GCC unroll 8
      for (int k = 0; k < kAcc; ++k) {
        D x;
        load<N>(x, d + i + k * N);
        const I bits = I(x) & magnitude;
        x = D(bits);
        s[k] += x * x;
        a[k] += x;
        m[k] = M(bits) > m[k] ? M(bits) : m[k];
        count_zeros<N>(z[k], zeros, x, bits);
      }
    }
    for (int k = 1; k < kAcc; ++k) {
      s[0] += s[k];
      a[0] += a[k];
      m[0] = m[0] > m[k] ? m[0] : m[k];
      z[0] += z[k];
    }
    out.zeros += zeros;
    for (int k = 0; k < N; ++k) {
      out.sq += s[0][k];
      out.ab += a[0][k];
      out.mx = std::max(out.mx, D(m[0])[k]);
      out.zeros += std::uint64_t(z[0][k]);
    }
  }
  sweep_tail(out, d, i, n);
  return out;
}

// With FMA (simd.hpp), Σx² takes one instruction per vector instead of two; with AVX-512, one
// instruction does 8 elements, which the sweep, bound by its vector operations, gains from. A
// tensor shorter than kShort (a small layer's weights and biases) is summed without the dispatch
// and the vector version's setup, which would cost more than its few elements.
constexpr std::size_t kShort = 16;

template <class T>
Partial fast_sweep(const T* d, std::size_t n) {
  Partial p;
  if (n < kShort) {
    sweep_tail(p, d, 0, n);
    return p;
  }
  simd::with_lanes([&](auto lanes) __attribute__((always_inline)) {
    p = sweep<decltype(lanes)::value>(d, n);
  });
  return p;
}

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

}  // namespace

template <class T>
void GradSums::add(const T* d, std::size_t n) {
  merge(stats_of(fast_sweep(d, n), d, n));
}

void GradSums::merge(const GradSums& o) {
  if (elements == 0) {
    *this = o;
    return;
  }
  const auto f = double(elements - nonfinite()), fo = double(o.elements - o.nonfinite());
  if (fo > 0) mean_abs += (o.mean_abs - mean_abs) * (fo / (f + fo));
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
  return squares_in_range(s) ? std::sqrt(s) : std::hypot(a, b);
}

template <class T>
double l2_norm(const T* d, std::size_t n) {
  if (n < kShort) {  // a small layer's weights: √Σx² unless a square left the exact range
    Partial p;
    sweep_tail(p, d, 0, n);
    if (squares_in_range(p.sq)) return std::sqrt(p.sq);
  }
  GradSums s;
  s.add(d, n);
  return s.nan ? std::numeric_limits<double>::quiet_NaN()
               : s.inf ? std::numeric_limits<double>::infinity() : s.l2;
}

template void GradSums::add<double>(const double*, std::size_t);
template void GradSums::add<float>(const float*, std::size_t);
template double l2_norm<double>(const double*, std::size_t);
template double l2_norm<float>(const float*, std::size_t);

}  // namespace gradscope
