#include "gradscope/ops/vector_math.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "gradscope/ops/simd.hpp"

namespace gradscope::ops::vec {

namespace {

// 1/j! for j = 0..13
constexpr auto kInverseFactorial = [] {
  std::array<double, 14> c{};
  double factorial = 1;
  for (int j = 0; j < 14; ++j) {
    if (j > 0) factorial *= j;
    c[j] = 1 / factorial;
  }
  return c;
}();

// 1/(2j + 3) for j = 0..16: atanh(s) = s + s³ Σ_j s^2j / (2j + 3), to s³⁵.
constexpr auto kAtanhSeries = [] {
  std::array<double, 17> c{};
  for (int j = 0; j < 17; ++j) c[j] = 1.0 / (2 * j + 3);
  return c;
}();

// out = Σ_j c[j] x^j: the terms from x^H on by Estrin's scheme (pairs c[2j] + c[2j+1] x, then
// pairs of those with x², and so on), whose longest chain of dependent operations is about log2(M)
// fused multiply-adds where Horner's rule has M, so that more of the vector units' work overlaps;
// the H lowest by Horner's rule, which rounds the large terms last and so keeps the result within
// the error of Horner's rule over all M.
template <std::size_t H, class D, std::size_t M>
inline __attribute__((always_inline)) void polynomial(D& out, const std::array<double, M>& c,
                                                      const D& x) {
  constexpr std::size_t E = M - H;
  D t[E], power = x;
#pragma GCC unroll 32
  for (std::size_t j = 0; j < E; ++j) t[j] = D{} + c[H + j];
  std::size_t m = E;
#pragma GCC unroll 8
  while (m > 1) {
#pragma GCC unroll 16
    for (std::size_t j = 0; j < m / 2; ++j) t[j] = t[2 * j] + t[2 * j + 1] * power;
    if (m % 2) t[m / 2] = t[m - 1];
    m = (m + 1) / 2;
    power = power * power;
  }
  out = t[0];
  for (std::size_t j = H; j-- > 0;) out = out * x + c[j];
}

// e^x for N lanes. x is first clamped to [-746, 710], beyond which e^x rounds to 0 or overflows
// (NaN compares false and stays NaN).
template <int N>
inline __attribute__((always_inline)) void exp_lanes(typename simd::Lanes<N>::D& out,
                                                     const typename simd::Lanes<N>::D& x) {
  using D = typename simd::Lanes<N>::D;
  using I = typename simd::Lanes<N>::I;
  const D zero{}, lo = zero - 746.0, hi = zero + 710.0;
  D t = x < lo ? lo : x;
  t = t > hi ? hi : t;
  // e^t = 2^k e^r: k = round(t / ln 2), by adding and subtracting 1.5·2^52 (k is then also in the
  // low bits of the sum), and r = t - k ln 2 in two parts (Cody and Waite), |r| <= ln(2)/2, where
  // the Taylor series to r^13 is within 2e-17 of e^r.
  const D shift = zero + 0x1.8p52;
  D kd = t * 1.4426950408889634 + shift;
  const I k = I(kd) - I(shift);
  kd -= shift;
  D r = t - kd * 6.93147180369123816490e-01;  // ln 2 to 32 bits: k ln2_hi is exact
  r -= kd * 1.90821492927058770002e-10;       // the rest of ln 2
  D p;
  polynomial<2>(p, kInverseFactorial, r);
  // 2^k as two powers of two, each a normal double for k from -1077 (e^t subnormal or 0) to 1024
  // (+Inf).
  const I k1 = k >> 1, k2 = k - k1;
  out = p * D((k1 + 1023) << 52) * D((k2 + 1023) << 52);
}

struct Exp {
  static double one(double x) { return exp_one(x); }
  template <int N>
  static void lanes(typename simd::Lanes<N>::D& out, const typename simd::Lanes<N>::D& x) {
    exp_lanes<N>(out, x);
  }
};

struct Sigmoid {
  static double one(double x) { return sigmoid_one(x); }
  template <int N>
  static void lanes(typename simd::Lanes<N>::D& out, const typename simd::Lanes<N>::D& x) {
    exp_lanes<N>(out, -x);
    out = 1.0 / (out + 1.0);
  }
};

struct Log1pExpNegAbs {
  static double one(double x) { return log1p_exp_neg_abs_one(x); }
  template <int N>
  static void lanes(typename simd::Lanes<N>::D& out, const typename simd::Lanes<N>::D& x) {
    using D = typename simd::Lanes<N>::D;
    using I = typename simd::Lanes<N>::I;
    D u;  // e^-|x|
    exp_lanes<N>(u, D(I(x) | (I{} + std::numeric_limits<std::int64_t>::min())));
    // ln(1 + u) = 2 atanh(s) = 2s + 2s (s²/3 + s⁴/5 + ... + s³⁴/35) with s = u / (2 + u) <= 1/3.
    const D s = u / (u + 2.0), q = s * s, s2 = s + s;
    D c;
    polynomial<0>(c, kAtanhSeries, q);
    out = s2 + s2 * (q * c);
  }
};

// out = F(x) for elements [i, n), one at a time through libm.
template <class F, class T>
inline __attribute__((always_inline)) void libm_loop(const T* x, T* out, std::size_t i,
                                                     std::size_t n) {
  for (; i < n; ++i) out[i] = T(F::one(double(x[i])));
}

// out = F(x) over n elements: N lanes at a time, the last n mod N through libm.
template <class F, int N, class T>
inline __attribute__((always_inline)) void lanes_loop(const T* x, T* out, std::size_t n) {
  std::size_t i = 0;
  for (; n - i >= std::size_t(N); i += N) {
    typename simd::Lanes<N>::D v, y;
    simd::load<N>(v, x + i);
    F::template lanes<N>(y, v);
    simd::store<N>(out + i, y);
  }
  libm_loop<F>(x, out, i, n);
}

// g(F{}) for the function F that fn names: the loops below are compiled for each, with no switch
// inside.
enum class Fn { Exp, Sigmoid, Log1pExpNegAbs };
template <class G>
inline __attribute__((always_inline)) void with_fn(Fn fn, G&& g) {
  switch (fn) {
    case Fn::Exp:
      return g(Exp{});
    case Fn::Sigmoid:
      return g(Sigmoid{});
    case Fn::Log1pExpNegAbs:
      return g(Log1pExpNegAbs{});
  }
}

// 4 lanes with FMA, 8 with AVX-512 (a polynomial per element: the vector units set the speed); a
// multiversioned build's baseline keeps libm's loop: 2 SSE2 lanes without fused multiply-adds were
// slower than libm.
#ifdef GRADSCOPE_MULTIVERSION
constexpr int kFewestLanes = 4;
#else
constexpr int kFewestLanes = 1;
#endif
template <class T>
void dispatch(Fn fn, const T* x, T* out, std::size_t n) {
  simd::with_lanes([&](auto lanes) __attribute__((always_inline)) {
    constexpr int N = decltype(lanes)::value;
    with_fn(fn, [&](auto f) __attribute__((always_inline)) {
      if constexpr (N >= kFewestLanes)
        lanes_loop<decltype(f), N>(x, out, n);
      else
        libm_loop<decltype(f)>(x, out, 0, n);
    });
  });
}

// Σ ln(1 + e^-|x|) over [i, n) as ln Π (1 + e^-|x|): one logarithm per kProductBlock elements
// instead of one per element. The product is carried as e = Π − 1, updated as e + u + e u with
// u = e^-|x| (product_minus_one): e keeps its relative precision where every term is tiny (and Π
// would round to 1) as where Π is large, and each element adds about one rounding, as an addition
// to a sum does. In the vector loop each lane multiplies its own elements and the lanes combine
// the same way at the end of a block; a block's product is at most 2^kProductBlock.
constexpr std::size_t kProductBlock = 512;

inline double product_minus_one(double e, double u) { return e + u + e * u; }

template <class T>
inline __attribute__((always_inline)) double sum_log1p_libm(const T* x, std::size_t i,
                                                            std::size_t n) {
  double sum = 0;
  while (i < n) {
    const std::size_t stop = i + std::min(kProductBlock, n - i);
    double e = 0;
    for (; i < stop; ++i) e = product_minus_one(e, exp_one(-std::abs(double(x[i]))));
    sum += std::log1p(e);
  }
  return sum;
}

template <int N, class T>
inline __attribute__((always_inline)) double sum_log1p_lanes(const T* x, std::size_t n) {
  using D = typename simd::Lanes<N>::D;
  using I = typename simd::Lanes<N>::I;
  const I sign = I{} + std::numeric_limits<std::int64_t>::min();
  double sum = 0;
  std::size_t i = 0;
  while (n - i >= std::size_t(N)) {
    const std::size_t stop = i + std::min(kProductBlock, (n - i) / N * N);
    D e{};
    for (; i < stop; i += N) {
      D v, u;
      simd::load<N>(v, x + i);
      exp_lanes<N>(u, D(I(v) | sign));  // e^-|x|
      e = e + u + e * u;
    }
    double block = 0;
    for (int k = 0; k < N; ++k) block = product_minus_one(block, e[k]);
    sum += std::log1p(block);
  }
  return sum + sum_log1p_libm(x, i, n);
}

template <class T>
double sum_dispatch(const T* x, std::size_t n) {
  double sum = 0;
  simd::with_lanes([&](auto lanes) __attribute__((always_inline)) {
    constexpr int N = decltype(lanes)::value;
    if constexpr (N >= kFewestLanes)
      sum = sum_log1p_lanes<N>(x, n);
    else
      sum = sum_log1p_libm(x, 0, n);
  });
  return sum;
}

}  // namespace

void exp_many(const double* x, double* out, std::size_t n) { dispatch(Fn::Exp, x, out, n); }
void exp_many(const float* x, float* out, std::size_t n) { dispatch(Fn::Exp, x, out, n); }
void sigmoid_many(const double* x, double* out, std::size_t n) { dispatch(Fn::Sigmoid, x, out, n); }
void sigmoid_many(const float* x, float* out, std::size_t n) { dispatch(Fn::Sigmoid, x, out, n); }
void log1p_exp_neg_abs_many(const double* x, double* out, std::size_t n) {
  dispatch(Fn::Log1pExpNegAbs, x, out, n);
}
void log1p_exp_neg_abs_many(const float* x, float* out, std::size_t n) {
  dispatch(Fn::Log1pExpNegAbs, x, out, n);
}
double sum_log1p_exp_neg_abs_many(const double* x, std::size_t n) { return sum_dispatch(x, n); }
double sum_log1p_exp_neg_abs_many(const float* x, std::size_t n) { return sum_dispatch(x, n); }

}  // namespace gradscope::ops::vec
