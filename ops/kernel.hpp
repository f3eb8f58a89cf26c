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
//                              say (bce: probabilities), checked while recording; a Rejection
//   forward(f), backward(b)    backward *adds* each input's gradient into ga/gb (inputs may be shared)
//   test_shapes, test_attrs,   what the generic finite-difference checker feeds it
//   domain                     per input: sample range, and a gap around 0 to keep away from kinks
// and inherits most of that from one of the categories below.
#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "gradscope/autodiff/shape.hpp"

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
template <class T, int N = Eigen::Dynamic>
struct Backward {
  Value<T, N> a, b, out, gout;
  MutableValue<T, N> ga, gb;
  T attr;
};

template <class M>
bool wants(const M& grad) {
  return grad.data() != nullptr;
}

// Sampling range of one input in the gradient checker; |x| < gap is resampled (kinks, poles).
struct Domain {
  double lo = -2, hi = 2, gap = 0;
};

struct ShapePair {
  Shape a, b;
};

// What reject() found: the input whose values the op does not accept and why, or why = nullptr.
struct Rejection {
  int input;
  const char* why;
};

// f(i, m, buffer) for consecutive blocks [i, i + m) of n elements, with a buffer of m elements on
// the stack: room for a vector function's result (vector_math.hpp) without allocating.
template <class T, class F>
void for_blocks(Eigen::Index n, F&& f) {
  constexpr Eigen::Index kBlock = 256;
  std::array<T, kBlock> buffer;
  for (Eigen::Index i = 0; i < n; i += kBlock) f(i, std::min(kBlock, n - i), buffer.data());
}
template <class T>
using ConstColumn = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

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

// g += e summed down to g's shape (e has the broadcast shape).
template <class G, class E>
void add_reduced(G& g, const E& e) {
  if (g.rows() == e.rows() && g.cols() == e.cols())
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
      const bool small = with_small(r, [&](auto R) {
        using Rows = Eigen::Array<T, R, Eigen::Dynamic>;
        const Eigen::Array<T, R, 1> bias = f.b.array();
        Eigen::Map<Rows>(f.out.data(), R, c) =
            op(Eigen::Map<const Rows>(f.a.data(), R, c), bias.rowwise().replicate(c));
      });
      if (small) return;
    }
    f.out.array() = op(f.a.array(), f.b.col(0).array().rowwise().replicate(c));
  } else {
    f.out.array() = op(expand(f.a, r, c).array(), expand(f.b, r, c).array());
  }
}

// ga += (a > 0 ? gout : below(gout)) elementwise: the backward of piecewise-linear activations.
// A plain loop that loads gout before the test, because GCC vectorises that (compare and blend)
// while Eigen 3.4's select() has no packet path and branches on every element's sign, which
// mispredicts on mixed signs (about 3x slower on the seed's 2 x 2000 ReLU layers).
template <class G, class A, class GO, class F>
void add_by_sign(G& ga, const A& a, const GO& gout, F below) {
  using T = typename G::Scalar;
  for (Eigen::Index i = 0; i < ga.size(); ++i) {
    const T g = gout(i);
    ga(i) += a(i) > T(0) ? g : below(g);
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

struct Elementwise {
  static constexpr int arity = 2;
  static constexpr bool has_attr = false;
  static constexpr const char* rule =
      "shapes must be equal or broadcast (each dimension equal, or 1 in one operand)";
  static Shape shape(Shape a, Shape b, double) { return broadcast_shape(a, b); }
  static constexpr std::array<ShapePair, 9> test_shapes{{{{3, 4}, {3, 4}},
                                                          {{3, 4}, {1, 4}},
                                                          {{3, 4}, {3, 1}},
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

// Reductions over all elements (axis -1, result 1x1), down the rows (axis 0, result 1 x cols) or
// across the columns (axis 1, result rows x 1).
struct Reduction : Unary {
  static constexpr bool has_attr = true;
  static constexpr const char* rule = "axis must be -1 (all), 0 (down rows) or 1 (across columns)";
  static Shape shape(Shape a, Shape, double axis) {
    if (axis == -1) return {1, 1};
    if (axis == 0) return {1, a.cols};
    if (axis == 1) return {a.rows, 1};
    return {};
  }
  static constexpr std::array<double, 3> test_attrs{-1.0, 0.0, 1.0};
};

template <class Out, class M>
void reduce_forward(Out& out, const M& a, double axis) {
  if (axis == -1)
    out(0, 0) = a.sum();
  else if (axis == 0)
    out = a.colwise().sum();
  else
    out = a.rowwise().sum();
}

}  // namespace ops
}  // namespace gradscope
