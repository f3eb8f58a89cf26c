#include "gradscope/ops/vector_math.hpp"

#include <array>
#include <cmath>
#include <limits>

#include "gradscope/autodiff/simd.hpp"

namespace gradscope::ops {

namespace {

double log1p_exp_neg_abs_one(double x) { return std::log1p(std::exp(-std::abs(x))); }

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

// ln(1 + u) with u = e^t, t = -|x|, for N lanes.
template <int N>
inline __attribute__((always_inline)) void lanes(typename simd::Lanes<N>::D& out,
                                                 const typename simd::Lanes<N>::D& x) {
  using D = typename simd::Lanes<N>::D;
  using I = typename simd::Lanes<N>::I;
  const D zero{};
  // t = -|x|, and no lower than -746, below which e^t rounds to 0 (NaN compares false and stays).
  D t = D(I(x) | (I{} + std::numeric_limits<std::int64_t>::min()));
  t = t < zero - 746.0 ? zero - 746.0 : t;
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
  // 2^k as two powers of two, each a normal double down to k = -1077 (e^t subnormal or 0).
  const I k1 = k >> 1, k2 = k - k1;
  const D u = p * D((k1 + 1023) << 52) * D((k2 + 1023) << 52);
  // ln(1 + u) = 2 atanh(s) = 2s + 2s (s²/3 + s⁴/5 + ... + s³⁴/35) with s = u / (2 + u) <= 1/3.
  const D s = u / (u + 2.0), q = s * s, s2 = s + s;
  D c = zero + 1.0 / 35;
  for (int j = 16; j >= 1; --j) c = c * q + 1.0 / (2 * j + 1);
  out = s2 + s2 * (q * c);
}

template <int N, class T>
inline __attribute__((always_inline)) void loop(const T* x, T* out, std::size_t n) {
  std::size_t i = 0;
  for (; n - i >= std::size_t(N); i += N) {
    typename simd::Lanes<N>::D v, y;
    simd::load<N>(v, x + i);
    lanes<N>(y, v);
    simd::store<N>(out + i, y);
  }
  for (; i < n; ++i) out[i] = T(log1p_exp_neg_abs_one(double(x[i])));
}

#ifdef GRADSCOPE_MULTIVERSION
// The baseline's 2 lanes without fused multiply-adds are slower than libm: it keeps libm's loop.
#define GRADSCOPE_VERSIONS(T)                                                                  \
  GRADSCOPE_AVX2_FMA void versioned(const T* x, T* out, std::size_t n) { loop<4>(x, out, n); } \
  GRADSCOPE_BASELINE void versioned(const T* x, T* out, std::size_t n) {                       \
    for (std::size_t i = 0; i < n; ++i) out[i] = T(log1p_exp_neg_abs_one(double(x[i])));       \
  }
GRADSCOPE_VERSIONS(double)
GRADSCOPE_VERSIONS(float)
#undef GRADSCOPE_VERSIONS
#else
template <class T>
void versioned(const T* x, T* out, std::size_t n) {
  loop<simd::kLanes>(x, out, n);
}
#endif

}  // namespace

void log1p_exp_neg_abs(const double* x, double* out, std::size_t n) { versioned(x, out, n); }
void log1p_exp_neg_abs(const float* x, float* out, std::size_t n) { versioned(x, out, n); }

}  // namespace gradscope::ops
