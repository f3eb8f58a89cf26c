#pragma once
// What every op kernel sees: read-only views of its inputs, a view of its output (forward) or of the
// output's gradient and its inputs' gradients (backward), and a constant attribute (axis, exponent,
// slope, factor). Kernels are plain structs; the engine dispatches to them on the op code.
//
// An op struct provides
//   arity, has_attr            how many inputs, whether it takes a constant
//   shape(a, b, attr)          output shape, or an empty Shape when the operands do not fit
//   rule                       what shape() accepts, in words, for error messages
//   reject(a, b)               optional: the input values it does not accept where shapes do not
//                              say (bce: probabilities; cross_entropy: class labels), checked
//                              while recording; a Rejection
//   forward(f), backward(b)    backward *adds* each input's gradient into ga/gb (inputs may be shared)
//   stores_first               optional, true: backward stores where store_a/store_b say (below)
//   no_grad_b                  optional, true: the second input gets no gradient (its values are
//                              read as indices or not at all); backward leaves gb alone
//   shares_grad                optional, true: an input of the output's shape has the output's
//                              gradient as its own (the derivative is the identity), so the engine
//                              may let it share the output's gradient slot (Graph::shared_grads_)
//   test_shapes, test_attrs,   what the generic finite-difference checker feeds it
//   domain                     per input: sample range, and a gap around 0 to keep away from kinks
// and inherits most of that from one of the categories below.
#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <type_traits>
#include <utility>

#include "gradscope/autodiff/shape.hpp"
#include "gradscope/ops/simd.hpp"

namespace gradscope {

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <class T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;

namespace ops {

// Kernels are written once, for operand maps of either shape class N: Eigen::Dynamic (any shape),
// or 1 when every operand and the result are 1x1. The engine picks N = 1 for scalar nodes, so a
// micrograd-style graph of scalars runs plain scalar code instead of Eigen's size-generic loops
// (with 1x1 maps every size test folds away and expand() is the identity).
template <class T, int N = Eigen::Dynamic>
using Value = Eigen::Map<const Eigen::Matrix<T, N, N>>;
template <class T, int N = Eigen::Dynamic>
using MutableValue = Eigen::Map<Eigen::Matrix<T, N, N>>;

template <class T, int N = Eigen::Dynamic>
struct Forward {
  Value<T, N> a, b;
  MutableValue<T, N> out;
  T attr;
};

// ga/gb have a null data pointer when that input needs no gradient; kernels test wants().
// First-contribution stores: for an op that declares stores_first, store_a (store_b) says that ga
// (gb) holds no earlier contribution and was not zeroed, so the kernel stores into it instead of
// adding, which saves a fill and a read. When a and b are the same node only ga can be fresh: such
// a kernel writes all of ga before any of gb.
template <class T, int N = Eigen::Dynamic>
struct Backward {
  Value<T, N> a, b, out, gout;
  MutableValue<T, N> ga, gb;
  T attr;
  bool store_a = false, store_b = false;
};

template <class K, class = void>
inline constexpr bool stores_first = false;
template <class K>
inline constexpr bool stores_first<K, std::void_t<decltype(K::stores_first)>> = K::stores_first;
template <class K, class = void>
inline constexpr bool no_grad_b = false;
template <class K>
inline constexpr bool no_grad_b<K, std::void_t<decltype(K::no_grad_b)>> = K::no_grad_b;
template <class K, class = void>
inline constexpr bool shares_grad = false;
template <class K>
inline constexpr bool shares_grad<K, std::void_t<decltype(K::shares_grad)>> = K::shares_grad;

template <class M>
bool wants(const M& grad) {
  return grad.data() != nullptr;
}

// Sampling range of one input in the gradient checker; |x| < gap is resampled (kinks, poles).
// A whole-number input (class labels) takes integers in [lo, hi) and is recorded as a constant:
// the op has no gradient for it.
struct Domain {
  double lo = -2, hi = 2, gap = 0;
  bool whole = false;
};

struct ShapePair {
  Shape a, b;
};

// What reject() found: the input whose values the op does not accept and why, or why = nullptr.
// For an input of indices (class labels), element is the first one the op cannot use, which the
// error names with the shape of the other input, the one it indexes.
struct Rejection {
  int input;
  const char* why;
  Eigen::Index element = -1;
};

// f(i, m, buffer) for consecutive blocks [i, i + m) of n elements, with a buffer of m elements on
// the stack: room for a vector function's result (vector_math.hpp) without allocating.
template <class T, class F>
inline __attribute__((always_inline)) void for_blocks(Eigen::Index n, F&& f) {
  constexpr Eigen::Index kBlock = 256;
  std::array<T, kBlock> buffer;
  for (Eigen::Index i = 0; i < n; i += kBlock) f(i, std::min(kBlock, n - i), buffer.data());
}
template <class T>
using ConstColumn = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// f() with its loops across the samples compiled for AVX-512, AVX2+FMA and the baseline, picked at
// run time (simd::with_lanes), for operands of any shape; directly for 1x1 ones (N = 1), whose
// kernels have no loop. f is an always_inline lambda of plain loops over raw data, which GCC
// vectorises: Eigen's own packets are fixed at compile time (SSE2 in a default build). Where a
// loop over interleaved rows (a bias's pattern, a small product's columns) vectorises badly, the
// kernel calls simd::with_lanes itself and writes the loop on its vector types. Such a loop that
// stores takes its pointers and bounds as the lambda's locals: captured, they are read through a
// reference on every iteration, since a store might change them as far as the compiler knows.
template <int N, class F>
inline __attribute__((always_inline)) void across_samples(F&& f) {
  if constexpr (N == 1)
    f();
  else
    simd::with_lanes([&](auto) __attribute__((always_inline)) { f(); });
}

// Elements per repetition of a column of R values laid along a column-major R x n array, in whole
// L-lane vectors: the period of a bias's pattern (broadcast_forward) and of the accumulators of its
// gradient (add_reduced).
template <int R, int L>
inline constexpr int kPeriod = std::lcm(R, L);

// --- broadcasting -------------------------------------------------------------------------------
// Two operands broadcast when, per dimension, they are equal or one of them is 1 (NumPy's rule for
// rank 2). The gradient of a broadcast operand is the output gradient summed back to its shape.

inline Shape broadcast_shape(Shape a, Shape b) {
  auto dim = [](std::uint32_t x, std::uint32_t y) -> std::uint32_t {
    return x == y || y == 1 ? x : (x == 1 ? y : 0);
  };
  std::uint32_t r = dim(a.rows, b.rows), c = dim(a.cols, b.cols);
  return r && c ? Shape{r, c} : Shape{};
}

// x repeated to rows x cols (x's dimensions are 1 or equal to the target's); a fixed 1x1 x is
// only ever expanded to 1x1 (scalar kernels), where repeating is the identity.
template <class M>
auto expand(const M& x, Eigen::Index rows, Eigen::Index cols) {
  if constexpr (M::SizeAtCompileTime == 1)
    return x;
  else
    return x.replicate(rows / x.rows(), cols / x.cols());
}

// g = e for an input's first contribution (store, see stores_first above), else g += e.
template <class G, class E>
void put(G&& g, const E& e, bool store) {
  if (store)
    g = e;
  else
    g += e;
}

// g += e summed down to g's shape (e has the broadcast shape); g = that sum if store.
// An operand e that is a whole contiguous array (the output gradient itself, as for add and sub's
// first input) runs plain loops across the samples: g += e, and a column g of at most kSmallDim
// rows (a bias's gradient) summed through one accumulator per position of kPeriod (2 periods, so
// that consecutive vectors' additions do not wait on each other).
template <class G, class E>
void add_reduced(G& g, const E& e, bool store = false) {
  const bool same_shape = g.rows() == e.rows() && g.cols() == e.cols();
  if (store && !same_shape) g.setZero();  // a sum down to g's shape accumulates from zero
  if constexpr (G::SizeAtCompileTime != 1 && bool(E::Flags & Eigen::DirectAccessBit)) {
    const typename G::Scalar* x = e.data();
    auto* y = g.data();
    const Eigen::Index total = e.size();
    if (same_shape) {
      across_samples<Eigen::Dynamic>([&]() __attribute__((always_inline)) {
        if (store)
          for (Eigen::Index k = 0; k < total; ++k) y[k] = x[k];
        else
          for (Eigen::Index k = 0; k < total; ++k) y[k] += x[k];
      });
      return;
    }
    const bool rows = g.cols() == 1 && g.rows() == e.rows() &&
                      with_small(g.rows(), [&](auto R) {
                        simd::with_lanes([&](auto lanes) __attribute__((always_inline)) {
                          constexpr int L = decltype(lanes)::value;
                          constexpr int P = 2 * kPeriod<R, L>, V = P / L;
                          using D = typename simd::Lanes<L>::D;
                          D acc[V] = {};
                          Eigen::Index k = 0;
                          for (; k + P <= total; k += P)
                            for (int v = 0; v < V; ++v) {
                              D e;
                              simd::load<L>(e, x + k + v * L);
                              acc[v] += e;
                            }
                          double sum[P];
                          std::memcpy(sum, acc, sizeof sum);
                          for (int l = 0; k < total; ++k, ++l) sum[l] += x[k];
                          for (int l = 0; l < P; ++l) y[l % R] += sum[l];
                        });
                      });
    if (rows) return;
  }
  if (same_shape && store)
    g.array() = e;
  else if (same_shape)
    g.array() += e;
  else if (g.rows() == 1 && g.cols() == 1)
    g(0, 0) += e.sum();
  else if (g.rows() == 1)
    g.array() += e.colwise().sum();
  else
    g.array() += e.rowwise().sum();
}

// Operands with at most kSmallDim rows, such as a layer of a few units across thousands of
// samples, run kernels with that dimension fixed at compile time: Eigen then unrolls it and
// vectorises each column, where with a dynamic row count it loops over rows per column.
inline constexpr int kSmallDim = 4;

// Calls f(std::integral_constant<int, D>{}) when n == D for some 1 <= D <= kSmallDim; returns
// whether it did.
template <int D = 1, class F>
bool with_small(Eigen::Index n, F&& f) {
  if constexpr (D > kSmallDim) {
    return false;
  } else if (n != D) {
    return with_small<D + 1>(n, f);
  } else {
    f(std::integral_constant<int, D>{});
    return true;
  }
}

// out = f(a, b) elementwise with broadcasting. Equal shapes and a column vector b across the
// columns of a (a bias per row, as in z = wᵀa + b) get direct expressions; the general case goes
// through replicate(), whose index arithmetic (a modulo per element and dimension) costs more
// than the op itself.
template <class T, int N, class F>
void broadcast_forward(Forward<T, N>& f, F op) {
  const auto r = f.out.rows(), c = f.out.cols();
  const bool a_full = f.a.rows() == r && f.a.cols() == c;
  if (a_full && f.b.rows() == r && f.b.cols() == c) {
    f.out.array() = op(f.a.array(), f.b.array());
  } else if (a_full && f.b.rows() == r && f.b.cols() == 1) {
    if constexpr (N == Eigen::Dynamic) {
      // The bias repeated to a whole number of vectors, and one flat loop over a and out, on
      // vectors: GCC vectorises the plain loop by de-interleaving the pattern's positions and
      // interleaving them back.
      const bool small = with_small(r, [&](auto R) {
        simd::with_lanes([&](auto lanes) __attribute__((always_inline)) {
          constexpr int L = decltype(lanes)::value, P = kPeriod<R, L>, V = P / L;
          T pattern[P];
          for (int l = 0; l < P; ++l) pattern[l] = f.b(l % R, 0);
          const T* a = f.a.data();
          T* out = f.out.data();
          const Eigen::Index total = r * c;
          using D = typename simd::Lanes<L>::D;
          D pv[V];
          for (int v = 0; v < V; ++v) simd::load<L>(pv[v], pattern + v * L);
          Eigen::Index k = 0;
          for (; k + P <= total; k += P)
            for (int v = 0; v < V; ++v) {
              D x, y;
              simd::load<L>(x, a + k + v * L);
              for (int l = 0; l < L; ++l) y[l] = op(x[l], pv[v][l]);  // one vector operation
              simd::store<L>(out + k + v * L, y);
            }
          for (int l = 0; k < total; ++k, ++l) out[k] = op(a[k], pattern[l]);
        });
      });
      if (small) return;
    }
    f.out.array() = op(f.a.array(), f.b.col(0).array().rowwise().replicate(c));
  } else {
    f.out.array() = op(expand(f.a, r, c).array(), expand(f.b, r, c).array());
  }
}

// --- categories -----------------------------------------------------------------------------------

struct Unary {
  static constexpr int arity = 1;
  static constexpr bool has_attr = false;
  static constexpr const char* rule = "any non-empty shape";
  static Shape shape(Shape a, Shape, double) { return a; }
  static constexpr std::array<ShapePair, 4> test_shapes{
      {{{1, 1}, {}}, {{3, 4}, {}}, {{1, 5}, {}}, {{4, 1}, {}}}};
  static constexpr std::array<double, 1> test_attrs{0.0};
  static constexpr std::array<Domain, 1> domain{{{-2, 2, 0}}};
};

// An activation y = φ(x) declares its derivative once, as
//   static T slope(T x, T y, T attr)      φ′ at input x, given the output y = φ(x)
// Its backward (backward_by_slope below), the diagnosis's theory, the mean-field statistics and the
// models' hand-derived formulas all evaluate that one declaration. backward_by_slope stores an
// input's first contribution (stores_first).
struct Activation : Unary {
  static constexpr bool stores_first = true;
};
template <class K>
inline constexpr bool is_activation = std::is_base_of_v<Activation, K>;

// ga (+)= gout ⊙ φ′(a) for an activation K: plain loops across the samples, which GCC vectorises (the
// slopes' ternaries become compare-and-blend; Eigen 3.4's select() has no packet path). The slopes
// go to a buffer first: fused, g · (x > 0 ? 1 : 0) becomes x > 0 ? g : g · 0, a floating-point
// operation on one arm of a branch, which GCC leaves scalar while exceptions may trap.
template <class K, class T, int N>
void backward_by_slope(Backward<T, N>& b) {
  const T* a = b.a.data();
  const T* y = b.out.data();
  const T* g = b.gout.data();
  T* ga = b.ga.data();
  const T attr = b.attr;
  const bool store = b.store_a;
  if constexpr (N == 1) {
    ga[0] = (store ? T(0) : ga[0]) + g[0] * K::slope(a[0], y[0], attr);
  } else {
    across_samples<N>([&]() __attribute__((always_inline)) {
      for_blocks<T>(b.ga.size(), [&](Eigen::Index i, Eigen::Index m, T* s)
                                     __attribute__((always_inline)) {
        for (Eigen::Index k = 0; k < m; ++k) s[k] = K::slope(a[i + k], y[i + k], attr);
        if (store)
          for (Eigen::Index k = 0; k < m; ++k) ga[i + k] = g[i + k] * s[k];
        else
          for (Eigen::Index k = 0; k < m; ++k) ga[i + k] += g[i + k] * s[k];
      });
    });
  }
}

struct Elementwise {
  static constexpr int arity = 2;
  static constexpr bool has_attr = false;
  static constexpr const char* rule =
      "shapes must be equal or broadcast (each dimension equal, or 1 in one operand)";
  static Shape shape(Shape a, Shape b, double) { return broadcast_shape(a, b); }
  // (3x17)(3x1): a bias over enough samples for broadcast_forward's and add_reduced's vector loops
  // on 8 lanes or 4 (kPeriod), and some left over.
  static constexpr std::array<ShapePair, 9> test_shapes{{{{3, 4}, {3, 4}},
                                                          {{3, 4}, {1, 4}},
                                                          {{3, 17}, {3, 1}},
                                                          {{1, 4}, {3, 4}},
                                                          {{3, 1}, {3, 4}},
                                                          {{1, 1}, {3, 4}},
                                                          {{3, 4}, {1, 1}},
                                                          {{3, 1}, {1, 4}},
                                                          {{1, 1}, {1, 1}}}};
  static constexpr std::array<double, 1> test_attrs{0.0};
  static constexpr std::array<Domain, 2> domain{{{-2, 2, 0}, {-2, 2, 0}}};
};

// Losses compare a prediction with a target of the same shape and return the mean, a 1x1 value.
struct Loss {
  static constexpr int arity = 2;
  static constexpr bool has_attr = false;
  static constexpr const char* rule = "prediction and target must have the same shape";
  static Shape shape(Shape a, Shape b, double) { return a == b ? Shape{1, 1} : Shape{}; }
  static constexpr std::array<ShapePair, 3> test_shapes{
      {{{1, 1}, {1, 1}}, {{3, 4}, {3, 4}}, {{1, 5}, {1, 5}}}};
  static constexpr std::array<double, 1> test_attrs{0.0};
};

// Ops that copy elements into a new arrangement (slice, concat): two operands and a whole-number
// attribute; backward routes each gradient element back to where its value came from.
struct Rearrangement : Elementwise {
  static constexpr bool has_attr = true;
};

// Whether x is a whole number in [0, n): an axis position or a class index held as a number.
inline bool whole_below(double x, double n) { return x >= 0 && x < n && x == std::floor(x); }

}  // namespace ops
}  // namespace gradscope
