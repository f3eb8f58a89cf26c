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
  std::uint64_t zeros = 0;
};

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

// y = x σ' with σ' from v (see slope_square_sum). References, not values, for the ABI reason
// given at load().
template <Slope S, class D>
inline __attribute__((always_inline)) void carry(D& y, const D& x, const D& v, const D& leak) {
  const D zero{}, one = zero + 1.0;
  if constexpr (S == Slope::Relu) y = v > zero ? x : zero;
  if constexpr (S == Slope::LeakyRelu) y = v > zero ? x : x * leak;
  if constexpr (S == Slope::Sigmoid) y = x * v * (one - v);
  if constexpr (S == Slope::Tanh) y = x * (one - v * v);
}

// Σ (x σ')² in kAcc independent accumulators; S selects the activation at compile time, so that
// the loop holds no switch.
template <int N, Slope S, class T>
inline __attribute__((always_inline)) double slope_sums(const T* g, const T* u, std::size_t n,
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
  for (; i < n; ++i) {
    const D x = D{} + double(g[i]), v = D{} + double(u[i]);
    D y;
    carry<S>(y, x, v, lk);
    s += y[0] * y[0];
  }
  return s;
}

template <int N, class T>
inline __attribute__((always_inline)) double slope_sums(Slope slope, const T* g, const T* u,
                                                        std::size_t n, double leak) {
  switch (slope) {
    case Slope::Relu:
      return slope_sums<N, Slope::Relu>(g, u, n, leak);
    case Slope::LeakyRelu:
      return slope_sums<N, Slope::LeakyRelu>(g, u, n, leak);
    case Slope::Sigmoid:
      return slope_sums<N, Slope::Sigmoid>(g, u, n, leak);
    case Slope::Tanh:
      break;
  }
  return slope_sums<N, Slope::Tanh>(g, u, n, leak);
}

// On x86-64 the default build targets the baseline (SSE2); GCC and Clang compile an AVX2 version
// beside it and pick one when the program loads (function multiversioning), so a CPU with AVX2
// gets 4-wide vectors without -march=native.
#if defined(__x86_64__) && !defined(__AVX2__)
#define GRADSCOPE_MULTIVERSION 1
#endif

#ifdef GRADSCOPE_MULTIVERSION
#define GRADSCOPE_KERNELS(T)                                                                 \
  __attribute__((target("avx2"))) Partial fast_sums(const T* d, std::size_t n) {             \
    return sums<4>(d, n);                                                                    \
  }                                                                                          \
  __attribute__((target("default"))) Partial fast_sums(const T* d, std::size_t n) {          \
    return sums<2>(d, n);                                                                    \
  }                                                                                          \
  __attribute__((target("avx2"))) double fast_slope_sums(Slope s, const T* g, const T* u,    \
                                                         std::size_t n, double leak) {       \
    return slope_sums<4>(s, g, u, n, leak);                                                  \
  }                                                                                          \
  __attribute__((target("default"))) double fast_slope_sums(Slope s, const T* g, const T* u, \
                                                            std::size_t n, double leak) {    \
    return slope_sums<2>(s, g, u, n, leak);                                                  \
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
double fast_slope_sums(Slope s, const T* g, const T* u, std::size_t n, double leak) {
  return slope_sums<kLanes>(s, g, u, n, leak);
}
#endif

}  // namespace

template <class T>
void GradSums::add(const T* d, std::size_t n) {
  Partial p = fast_sums(d, n);
  if (!std::isfinite(p.sq)) {
    // NaN or ±Inf somewhere (or squares beyond the double range): a scalar pass counts them
    // and leaves them out of the other figures. Rare, so it need not be fast.
    p = {};
    for (std::size_t i = 0; i < n; ++i) {
      const double a = std::abs(double(d[i]));
      if (!std::isfinite(a)) {
        ++(std::isnan(a) ? nan : inf);
        continue;
      }
      p.sq += a * a;
      p.ab += a;
      p.mx = std::max(p.mx, a);
      p.zeros += a == 0.0;
    }
  }
  sum_sq += p.sq;
  sum_abs += p.ab;
  max_abs = std::max(max_abs, p.mx);
  zeros += p.zeros;
  elements += n;
}

void GradSums::merge(const GradSums& o) {
  sum_sq += o.sum_sq;
  sum_abs += o.sum_abs;
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
  const auto finite = double(elements - nonfinite());
  s.l2 = std::sqrt(sum_sq);
  s.max_abs = max_abs;
  if (finite > 0) {
    s.rms = std::sqrt(sum_sq / finite);
    s.mean_abs = sum_abs / finite;
  }
  if (elements > 0) s.zero_share = double(zeros) / double(elements);
  return s;
}

template <class T>
double slope_square_sum(Slope slope, const T* g, const T* u, std::size_t n, double leak) {
  return fast_slope_sums(slope, g, u, n, leak);
}

template void GradSums::add<double>(const double*, std::size_t);
template void GradSums::add<float>(const float*, std::size_t);
template double slope_square_sum<double>(Slope, const double*, const double*, std::size_t, double);
template double slope_square_sum<float>(Slope, const float*, const float*, std::size_t, double);

}  // namespace gradscope
