#pragma once
#include "gradscope/ops/kernel.hpp"
#include "gradscope/ops/product.hpp"

namespace gradscope::ops {

// --- products with a small factor ----------------------------------------------------------------
// A dense layer of a few units multiplies a tiny weight (the post's 2x2) with activations of
// thousands of samples (2 x 2000). Eigen's GEMM first packs both operands into panels, which pays
// when each packed element is reused many times; here each is used k <= 4 times, and packing plus
// the blocked kernel's edge handling take about three times as long as the products below (9 vs
// 3 µs for (2x2)(2x2000) on the bench machine). When the small operand S has at most kSmallDim
// (kernel.hpp) rows and columns, the kernels below hold S in registers
// (fixed-size Eigen types, fully unrolled) and stream the large operand once, column by column:
//   out.col(j) (+)= S x.col(j)             for out = S x                (R x C)(C x n)
//   S += Σ_j y.col(j) x.col(j)ᵀ             for S += y xᵀ                (R x n)(n x C)

// Calls f(integral_constant<int, R>, integral_constant<int, C>) when rows == R and cols == C for
// some 1 <= R, C <= kSmallDim, and returns whether it did.
template <class F>
bool with_small_dims(Eigen::Index rows, Eigen::Index cols, F&& f) {
  bool done = false;
  with_small(rows, [&](auto R) { done = with_small(cols, [&](auto C) { f(R, C); }); });
  return done;
}

// out (+)= s x, s a fixed R x C matrix, x C x n and out R x n (column-major, contiguous): a loop
// across the columns (samples), compiled for AVX2+FMA too (across_samples).
template <bool Accumulate, class S, class X, class Out>
void small_times(const S& s, const X& x, Out& out) {
  using T = typename S::Scalar;
  constexpr int R = S::RowsAtCompileTime, C = S::ColsAtCompileTime;
  T w[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) w[r][c] = s(r, c);
  const T* xs = x.data();
  T* os = out.data();
  const Eigen::Index n = x.cols();
  across_samples<Eigen::Dynamic>([&]() __attribute__((always_inline)) {
    for (Eigen::Index j = 0; j < n; ++j)
      for (int r = 0; r < R; ++r) {
        T v = Accumulate ? os[j * R + r] : T(0);
        for (int c = 0; c < C; ++c) v += w[r][c] * xs[j * C + c];
        os[j * R + r] = v;
      }
  });
}

// s += y xᵀ for y R x n, x C x n and s R x C small: a loop across the samples (across_samples).
// Per sample, column c of s gains y.col(j) x(c, j); G consecutive samples' R-row columns lie in
// y as G·R = 2·kPeriod<R> consecutive values (two whole sets of 4-lane vectors, so that
// consecutive vectors' additions do not wait on each other), which add into one accumulator per
// position and column c. Each accumulator is its own chain of additions in sample order, so the
// loop vectorises without reassociating a sum.
template <int R, int C, class Y, class X, class S>
void small_outer_sum(const Y& y, const X& x, S& s) {
  using T = typename Y::Scalar;
  constexpr int G = 2 * kPeriod<R> / R;  // samples per iteration
  const T* ys = y.data();
  const T* xs = x.data();
  T* out = s.data();
  const Eigen::Index n = y.cols();
  across_samples<Eigen::Dynamic>([&]() __attribute__((always_inline)) {
    T acc[C][G * R] = {};
    Eigen::Index j = 0;
    for (; j + G <= n; j += G)
      for (int c = 0; c < C; ++c)
        for (int q = 0; q < G; ++q)
          for (int r = 0; r < R; ++r)
            acc[c][q * R + r] += ys[(j + q) * R + r] * xs[(j + q) * C + c];
    for (; j < n; ++j)
      for (int c = 0; c < C; ++c)
        for (int r = 0; r < R; ++r) acc[c][r] += ys[j * R + r] * xs[j * C + c];
    for (int c = 0; c < C; ++c)
      for (int q = 0; q < G; ++q)
        for (int r = 0; r < R; ++r) out[c * R + r] += acc[c][q * R + r];
  });
}

// out = a b, (m x k)(k x n) -> m x n
struct Matmul {
  static constexpr int arity = 2;
  static constexpr bool has_attr = false;
  static constexpr bool stores_first = true;
  static constexpr const char* rule = "inner dimensions must agree: (m x k)(k x n)";
  static Shape shape(Shape a, Shape b, double) {
    return a.cols == b.rows ? Shape{a.rows, b.cols} : Shape{};
  }
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    if constexpr (N == Eigen::Dynamic) {
      const bool small = with_small_dims(f.a.rows(), f.a.cols(), [&](auto R, auto C) {
        small_times<false>(Eigen::Matrix<T, R, C>(f.a), f.b, f.out);
      });
      if (!small) product(false, f.a, false, f.b, f.out, false);
    } else {
      f.out = f.a * f.b;
    }
  }
  // dL/da = dL/dout bᵀ, dL/db = aᵀ dL/dout
  // (a, the small factor, is zeroed where it is fresh; b, the large one, stored into.)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    if (b.store_a) b.ga.setZero();
    if constexpr (N == Eigen::Dynamic) {
      const bool small = with_small_dims(b.a.rows(), b.a.cols(), [&](auto R, auto C) {
        if (wants(b.ga)) small_outer_sum<R, C>(b.gout, b.b, b.ga);
        const Eigen::Matrix<T, C, R> at = b.a.transpose();
        if (b.store_b)
          small_times<false>(at, b.gout, b.gb);
        else if (wants(b.gb))
          small_times<true>(at, b.gout, b.gb);
      });
      if (small) return;
      if (wants(b.ga)) product(false, b.gout, true, b.b, b.ga, true);
      if (b.store_b || wants(b.gb)) product(true, b.a, false, b.gout, b.gb, !b.store_b);
    } else {
      if (wants(b.ga)) b.ga += b.gout * b.b;
      if (b.store_b)
        b.gb = b.a * b.gout;
      else if (wants(b.gb))
        b.gb += b.a * b.gout;
    }
  }
  // The first four shapes run the small-factor kernels (a at most 4x4), the last three the general
  // product (product.hpp): (5x6)(6x3) Eigen's coefficient-wise one, (7x9)(9x6) the one a build on
  // OpenBLAS runs there.
  static constexpr std::array<ShapePair, 7> test_shapes{{{{2, 3}, {3, 4}},
                                                         {{1, 3}, {3, 1}},
                                                         {{3, 1}, {1, 4}},
                                                         {{4, 4}, {4, 7}},
                                                         {{1, 1}, {1, 1}},
                                                         {{5, 6}, {6, 3}},
                                                         {{7, 9}, {9, 6}}}};
  static constexpr std::array<double, 1> test_attrs{0.0};
  static constexpr std::array<Domain, 2> domain{{{-2, 2, 0}, {-2, 2, 0}}};
};

}  // namespace gradscope::ops
