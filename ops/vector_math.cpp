#include "gradscope/ops/vector_math.hpp"

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
  D p = zero + kInverseFactorial[13];
  for (int j = 12; j >= 0; --j) p = p * r + kInverseFactorial[j];
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
    D c = D{} + 1.0 / 35;
    for (int j = 16; j >= 1; --j) c = c * q + 1.0 / (2 * j + 1);
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
  simd::with_lanes<8>([&](auto lanes) __attribute__((always_inline)) {
    constexpr int N = decltype(lanes)::value;
    with_fn(fn, [&](auto f) __attribute__((always_inline)) {
      if constexpr (N >= kFewestLanes)
        lanes_loop<decltype(f), N>(x, out, n);
      else
        libm_loop<decltype(f)>(x, out, 0, n);
    });
  });
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

}  // namespace gradscope::ops::vec
