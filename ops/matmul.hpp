#pragma once
#include "gradscope/ops/kernel.hpp"
#include "gradscope/ops/product.hpp"

namespace gradscope::ops {

// --- products with a small factor ----------------------------------------------------------------
// A dense layer of a few units multiplies a tiny weight (the post's 2x2) with activations of
// thousands of samples (2 x 2000). Eigen's GEMM first packs both operands into panels, which pays
// when each packed element is reused many times; here each is used k <= 4 times, and packing plus
// the blocked kernel's edge handling take about three times as long as the products below. When
// the small operand S has at most kSmallDim (kernel.hpp) rows and columns, the kernels below hold
// S in vector registers (its size fixed at compile time, the loops over it unrolled) and stream
// the large operand once, column by column:
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

// A block of L samples of an R-row and a C-row operand (column-major, contiguous): R vectors of the
// first, C of the second. Lane l of the first's vector v is row r of sample q (v L + l = q R + r);
// x(v, c, xv, out) gives the second's row c of the same samples, lane by lane: its C vectors xv
// (and a spare copy of the last) shuffled into place. GCC writes the plain loops of the kernels
// below by de-interleaving the rows and interleaving them back, several shuffles per vector; this
// takes one, within 128-bit lanes for the post's 2 x 2 weights. `fits`: every such lane set lies
// in two consecutive vectors, which a two-input shuffle reads; not for C > 2 R.
template <int L, int R, int C>
struct SampleBlock {
  using D = typename simd::Lanes<L>::D;
  using I = typename simd::Lanes<L>::I;
  static constexpr int first(int v, int c) { return (v * L / R * C + c) / L; }
  static constexpr bool spans_two() {
    for (int v = 0; v < R; ++v)
      for (int c = 0; c < C; ++c)
        if ((((v + 1) * L - 1) / R * C + c) / L > first(v, c) + 1) return false;
    return true;
  }
  static constexpr bool fits = spans_two();
  I pick[R][C];  // lane l: the index of x(c, q) in the two vectors from xv[first(v, c)]
  SampleBlock() {
    for (int v = 0; v < R; ++v)
      for (int c = 0; c < C; ++c)
        for (int l = 0; l < L; ++l) pick[v][c][l] = (v * L + l) / R * C + c - first(v, c) * L;
  }
  static int row(int v, int l) { return (v * L + l) % R; }
  // An output parameter, as simd::load's.
  void x(int v, int c, const D* xv, D& out) const {
#if defined(__clang__)  // no __builtin_shuffle; lane by lane, which it folds to shuffles
    for (int l = 0; l < L; ++l) {
      const int k = int(pick[v][c][l]);
      out[l] = k < L ? xv[first(v, c)][k] : xv[first(v, c) + 1][k - L];
    }
#else
    out = __builtin_shuffle(xv[first(v, c)], xv[first(v, c) + 1], pick[v][c]);
#endif
  }
  // The K rows of L samples at p (a K-row operand's block) into v[0..K), and the spare copy.
  template <int K, class T>
  static void load_rows(const T* p, D (&v)[K + 1]) {
    for (int k = 0; k < K; ++k) simd::load<L>(v[k], p + k * L);
    v[K] = v[K - 1];
  }
  // w[v][c], lane l: s(row(v, l), c), for times().
  template <class T>
  static void spread(const T (&s)[R][C], D (&w)[R][C]) {
    for (int v = 0; v < R; ++v)
      for (int c = 0; c < C; ++c)
        for (int l = 0; l < L; ++l) w[v][c][l] = double(s[row(v, l)][c]);
  }
  // out += Σ_c s(row, c) ⊙ x(c): vector v of s x, with w = spread(s).
  void times(const D (&w)[R][C], const D* xv, int v, D& out) const {
    for (int c = 0; c < C; ++c) {
      D xc;
      x(v, c, xv, xc);
      out += w[v][c] * xc;
    }
  }
  // acc[v][c] += yv[v] ⊙ x(c): the block's terms of y xᵀ, each lane its own row's.
  void outer(D (&acc)[R][C], const D* yv, const D* xv) const {
    for (int v = 0; v < R; ++v)
      for (int c = 0; c < C; ++c) {
        D xc;
        x(v, c, xv, xc);
        acc[v][c] += yv[v] * xc;
      }
  }
  // s += the sums that outer() gathered, s R x C column-major.
  template <class T>
  static void add_lanes(const D (&acc)[R][C], T* s) {
    for (int v = 0; v < R; ++v)
      for (int c = 0; c < C; ++c)
        for (int l = 0; l < L; ++l) s[c * R + row(v, l)] += T(acc[v][c][l]);
  }
};

// out (+)= s x, s a fixed R x C matrix, x C x n and out R x n (column-major, contiguous): a loop
// across the columns (samples), compiled for each vector width (simd::with_lanes), on vectors of L
// samples' values (SampleBlock): out's vector v gains Σ_c s(row, c) ⊙ x(c).
template <bool Accumulate, class S, class X, class Out>
void small_times(const S& s, const X& x, Out& out) {
  using T = typename S::Scalar;
  constexpr int R = S::RowsAtCompileTime, C = S::ColsAtCompileTime;
  simd::with_lanes([&](auto lanes) __attribute__((always_inline)) {
    constexpr int L = decltype(lanes)::value;
    using B = SampleBlock<L, R, C>;
    // Locals, not captures (across_samples, kernel.hpp).
    const T* xs = x.data();
    T* os = out.data();
    const Eigen::Index n = x.cols();
    T ws[R][C];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) ws[r][c] = s(r, c);
    Eigen::Index j = 0;
    if constexpr (B::fits) {
      const B block;
      typename B::D w[R][C];
      B::spread(ws, w);
      for (; j + L <= n; j += L) {
        typename B::D xv[C + 1];
        B::template load_rows<C>(xs + j * C, xv);
        for (int v = 0; v < R; ++v) {
          typename B::D acc = {};
          if (Accumulate) simd::load<L>(acc, os + j * R + v * L);
          block.times(w, xv, v, acc);
          simd::store<L>(os + j * R + v * L, acc);
        }
      }
    }
    for (; j < n; ++j)
      for (int r = 0; r < R; ++r) {
        T v = Accumulate ? os[j * R + r] : T(0);
        for (int c = 0; c < C; ++c) v += ws[r][c] * xs[j * C + c];
        os[j * R + r] = v;
      }
  });
}

// s̄ += ḡ xᵀ for ḡ R x n, x C x n and s̄ R x C small, over the samples' vector blocks where
// SampleBlock fits: each lane of acc[k][v][c] sums ḡ(row, q) x(c, q) for its own row and position
// q in every other block (k: two sets, so that consecutive blocks' additions do not wait on each
// other), and the lanes of each row are added at the end. With TimesToo, also x̄ (+)= sᵀ ḡ (as
// small_times) in the same pass, for both gradients of out = s x: each block of ḡ is loaded once
// for both, where the two kernels apart would stream ḡ through the caches twice. Returns the
// samples done; the rest are left to small_outer_sum's plain loops and small_times.
template <int R, int C, bool TimesToo, class G, class X, class GS, class S, class GX>
Eigen::Index outer_sum_blocks(const G& g, const X& x, GS& gs, const S* s, GX* gx, bool store) {
  using T = typename G::Scalar;
  Eigen::Index done = 0;
  simd::with_lanes([&](auto lanes) __attribute__((always_inline)) {
    constexpr int L = decltype(lanes)::value;
    using B = SampleBlock<L, R, C>;  // ḡ's R rows against x's C
    using P = SampleBlock<L, C, R>;  // x̄'s C rows against ḡ's R
    if constexpr (B::fits && (!TimesToo || P::fits)) {
      const T* gp = g.data();
      const T* xp = x.data();
      T* out = TimesToo ? gx->data() : nullptr;
      const Eigen::Index n = g.cols();
      const B block;
      const P pblock;
      typename P::D w[C][R];
      if constexpr (TimesToo) {
        T st[C][R];
        for (int c = 0; c < C; ++c)
          for (int r = 0; r < R; ++r) st[c][r] = (*s)(r, c);
        P::spread(st, w);
      }
      typename B::D acc[2][R][C] = {};
      Eigen::Index j = 0;
      for (; j + 2 * L <= n; j += 2 * L)
        for (int k = 0; k < 2; ++k) {
          const Eigen::Index i = j + k * L;
          typename B::D xv[C + 1], gv[R + 1];
          B::template load_rows<C>(xp + i * C, xv);
          B::template load_rows<R>(gp + i * R, gv);
          block.outer(acc[k], gv, xv);
          if constexpr (TimesToo)
            for (int v = 0; v < C; ++v) {
              typename P::D sum = {};
              if (!store) simd::load<L>(sum, out + i * C + v * L);
              pblock.times(w, gv, v, sum);
              simd::store<L>(out + i * C + v * L, sum);
            }
        }
      for (int k = 0; k < 2; ++k) B::add_lanes(acc[k], gs.data());
      done = j;
    }
  });
  return done;
}

// s += y xᵀ for y R x n, x C x n and s R x C small: a loop across the samples, on vector blocks
// (outer_sum_blocks), the samples left (all of them where a block does not fit) as plain loops:
// G consecutive samples' R-row columns lie in y as G·R = 2·kPeriod<R, L> consecutive values (L the
// lanes), which add into one accumulator per position and column c. Every accumulator is its own
// chain of additions in sample order, so both loops vectorise without reassociating a sum.
template <int R, int C, class Y, class X, class S>
void small_outer_sum(const Y& y, const X& x, S& s) {
  using T = typename Y::Scalar;
  const Eigen::Index start =
      outer_sum_blocks<R, C, false>(y, x, s, static_cast<const S*>(nullptr),
                                    static_cast<S*>(nullptr), false);
  simd::with_lanes([&](auto lanes) __attribute__((always_inline)) {
    const T* ys = y.data();
    const T* xs = x.data();
    T* out = s.data();
    const Eigen::Index n = y.cols();
    Eigen::Index j = start;
    constexpr int G = 2 * kPeriod<R, decltype(lanes)::value> / R;
    T acc[C][G * R] = {};
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
        const bool to_b = b.store_b || wants(b.gb);
        const Eigen::Index j =
            wants(b.ga) && to_b
                ? outer_sum_blocks<R, C, true>(b.gout, b.b, b.ga, &b.a, &b.gb, b.store_b)
                : 0;
        const Eigen::Index n = b.gout.cols() - j;
        const auto gout = b.gout.rightCols(n);
        if (wants(b.ga)) small_outer_sum<R, C>(gout, b.b.rightCols(n), b.ga);
        const Eigen::Matrix<T, C, R> at = b.a.transpose();
        auto gb = b.gb.rightCols(n);
        if (b.store_b)
          small_times<false>(at, gout, gb);
        else if (wants(b.gb))
          small_times<true>(at, gout, gb);
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
  // The first six shapes run the small-factor kernels (a at most 4x4; (2x2)(2x17) their vector
  // blocks of samples, 16 per pass on 8 lanes or on 4, in both directions, and a sample left over,
  // (1x4)(4x9) the plain loops a block does not fit), the last three the general product
  // (product.hpp): (5x6)(6x3) Eigen's coefficient-wise one, (7x9)(9x6) the one a build on OpenBLAS
  // runs there.
  static constexpr std::array<ShapePair, 9> test_shapes{{{{2, 3}, {3, 4}},
                                                         {{1, 3}, {3, 1}},
                                                         {{3, 1}, {1, 4}},
                                                         {{4, 4}, {4, 7}},
                                                         {{2, 2}, {2, 17}},
                                                         {{1, 4}, {4, 9}},
                                                         {{1, 1}, {1, 1}},
                                                         {{5, 6}, {6, 3}},
                                                         {{7, 9}, {9, 6}}}};
  static constexpr std::array<double, 1> test_attrs{0.0};
  static constexpr std::array<Domain, 2> domain{{{-2, 2, 0}, {-2, 2, 0}}};
};

}  // namespace gradscope::ops
