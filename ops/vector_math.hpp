#pragma once
// Elementwise functions that op kernels call on whole arrays, where Eigen's expressions would run
// libm element by element or vectorise poorly. Eigen's packets are fixed at compile time, so a
// default x86-64 build gets its SSE2 code: no log1p for doubles at all, and an exp of doubles
// slower than libm's. These run 4 doubles at a time with fused multiply-adds on a CPU with AVX2
// and FMA, 8 with AVX-512 (chosen at run time, ops/simd.hpp), and as libm's scalar loop
// elsewhere. Floats are computed in double and rounded once. out may be x.
#include <cmath>
#include <cstddef>

namespace gradscope::ops::vec {

// out[i] = e^x[i] for i < n: +Inf above about 709.78 (double), 0 below about -745.13, NaN stays
// NaN. Within 1.0 ulp of the exact value at 10^6 points from -745 to 709.7 (libm: 0.51).
void exp_many(const double* x, double* out, std::size_t n);
void exp_many(const float* x, float* out, std::size_t n);

// out[i] = σ(x[i]) = 1 / (1 + e^-x[i]): exactly 0 below about -709.78 and 1 above about 37.4.
// Within 2.2 ulp at the same points, as that formula with libm's exp.
void sigmoid_many(const double* x, double* out, std::size_t n);
void sigmoid_many(const float* x, float* out, std::size_t n);

// out[i] = ln(1 + e^-|x[i]|): the term of softplus and of the cross-entropy on logits that needs
// log1p to keep its precision where it is tiny. Within 2.3 ulp of the exact value at 10^6 points
// of |x| from 1e-300 to 746 (libm's exp then log1p: 1.4); NaN stays NaN and ±Inf gives 0.
void log1p_exp_neg_abs_many(const double* x, double* out, std::size_t n);
void log1p_exp_neg_abs_many(const float* x, float* out, std::size_t n);

// Σ ln(1 + e^-|x[i]|) for i < n, in double: the cross-entropy's sum of that term, taken as the
// logarithm of the product of the 1 + e^-|x[i]|, one logarithm per 512 elements instead of one
// per element. Within 2 ulp of the exact sum at 10^5 points where the terms are large, mixed or
// all tiny (the sum of the rounded terms of log1p_exp_neg_abs: up to 260). NaN if an x[i] is.
double sum_log1p_exp_neg_abs_many(const double* x, std::size_t n);
double sum_log1p_exp_neg_abs_many(const float* x, std::size_t n);

// Each function on one element, as the vector loop computes the elements after its last full
// vector: libm, inline, so that a scalar (1x1) node pays no call.
inline double exp_one(double x) { return std::exp(x); }
inline double sigmoid_one(double x) { return 1 / (1 + std::exp(-x)); }
inline double log1p_exp_neg_abs_one(double x) { return std::log1p(std::exp(-std::abs(x))); }

// one(x) on a single element (a 1x1 node: the scalar tape's every op), inline; many otherwise.
template <class T>
inline void one_or_many(double (*one)(double), void (*many)(const T*, T*, std::size_t), const T* x,
                        T* out, std::size_t n) {
  if (n == 1)
    *out = T(one(double(*x)));
  else
    many(x, out, n);
}
template <class T>
void exp(const T* x, T* out, std::size_t n) {
  one_or_many<T>(exp_one, exp_many, x, out, n);
}
template <class T>
void sigmoid(const T* x, T* out, std::size_t n) {
  one_or_many<T>(sigmoid_one, sigmoid_many, x, out, n);
}
template <class T>
void log1p_exp_neg_abs(const T* x, T* out, std::size_t n) {
  one_or_many<T>(log1p_exp_neg_abs_one, log1p_exp_neg_abs_many, x, out, n);
}
template <class T>
double sum_log1p_exp_neg_abs(const T* x, std::size_t n) {
  return n == 1 ? log1p_exp_neg_abs_one(double(*x)) : sum_log1p_exp_neg_abs_many(x, n);
}

}  // namespace gradscope::ops::vec
