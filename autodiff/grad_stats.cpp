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
// keeps two independent accumulators per figure (one chain of dependent additions would leave the
// adders idle 3 cycles out of 4) and has no branch per element: |x| clears the sign bit, exact
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
// plus the number of blocks rather than with n.
template <int N, class T>
inline __attribute__((always_inline)) Partial sums(const T* d, std::size_t n) {
  using D = typename Lanes<N>::D;
  using I = typename Lanes<N>::I;
  constexpr std::size_t kStep = 2 * N, kBlock = 512;
  const I magnitude = I{} + std::numeric_limits<std::int64_t>::max();  // every bit but the sign
  Partial out;
  std::size_t i = 0;
  while (n - i >= kStep) {
    D s0{}, s1{}, a0{}, a1{}, m0{}, m1{};
    I z0{}, z1{};
    const std::size_t stop = i + std::min(kBlock, (n - i) / kStep * kStep);
    for (; i < stop; i += kStep) {
      D x0, x1;
      load<N>(x0, d + i);
      load<N>(x1, d + i + N);
      x0 = D(I(x0) & magnitude);
      x1 = D(I(x1) & magnitude);
      s0 += x0 * x0;
      s1 += x1 * x1;
      a0 += x0;
      a1 += x1;
      m0 = x0 > m0 ? x0 : m0;
      m1 = x1 > m1 ? x1 : m1;
      z0 -= x0 == D{};
      z1 -= x1 == D{};
    }
    const D s = s0 + s1, a = a0 + a1, m = m0 > m1 ? m0 : m1;
    const I z = z0 + z1;
    for (int k = 0; k < N; ++k) {
      out.sq += s[k];
      out.ab += a[k];
      out.mx = std::max(out.mx, m[k]);
      out.zeros += std::uint64_t(z[k]);
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

// On x86-64 the default build targets the baseline (SSE2); GCC and Clang compile an AVX2 version
// beside it and pick one when the program loads (function multiversioning), so a CPU with AVX2
// gets 4-wide vectors without -march=native.
#if defined(__x86_64__) && !defined(__AVX2__)
#define GRADSCOPE_MULTIVERSION 1
#endif

#ifdef GRADSCOPE_MULTIVERSION
__attribute__((target("avx2"))) Partial fast_sums(const double* d, std::size_t n) {
  return sums<4>(d, n);
}
__attribute__((target("avx2"))) Partial fast_sums(const float* d, std::size_t n) {
  return sums<4>(d, n);
}
__attribute__((target("default"))) Partial fast_sums(const double* d, std::size_t n) {
  return sums<2>(d, n);
}
__attribute__((target("default"))) Partial fast_sums(const float* d, std::size_t n) {
  return sums<2>(d, n);
}
#else
template <class T>
Partial fast_sums(const T* d, std::size_t n) {
#if defined(__AVX2__)
  return sums<4>(d, n);
#else
  return sums<2>(d, n);
#endif
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

template void GradSums::add<double>(const double*, std::size_t);
template void GradSums::add<float>(const float*, std::size_t);

}  // namespace gradscope
