#pragma once
// The user-facing ops: one function per entry of the op table, plus operators, so that
// `auto a = relu(matmul(W, x) + b);` reads like the math. Each records one node through
// Graph::apply, which checks the operands and throws Error naming op, nodes and shapes.
#include "gradscope/autodiff/graph.hpp"

namespace gradscope {

namespace detail {
template <class T>
struct NoDeduce {
  using type = T;
};
}  // namespace detail
// A constant operand: takes its type from the Var beside it, so `x * 2.0` works for Var<float>.
template <class T>
using Const = typename detail::NoDeduce<T>::type;

#define GRADSCOPE_UNARY(fn, Name)                                      \
  template <class T>                                                   \
  Var<T> fn(Var<T> x, SourceLoc loc = SourceLoc::current()) {          \
    return x.graph().apply(Op::Name, {x}, T(0), loc);                  \
  }
#define GRADSCOPE_BINARY(fn, Name)                                     \
  template <class T>                                                   \
  Var<T> fn(Var<T> a, Var<T> b, SourceLoc loc = SourceLoc::current()) { \
    return a.graph().apply(Op::Name, {a, b}, T(0), loc);               \
  }

GRADSCOPE_BINARY(add, Add)
GRADSCOPE_BINARY(sub, Sub)
GRADSCOPE_BINARY(mul, Mul)
GRADSCOPE_BINARY(div, Div)
GRADSCOPE_BINARY(matmul, Matmul)
GRADSCOPE_UNARY(neg, Neg)
GRADSCOPE_UNARY(transpose, Transpose)
GRADSCOPE_UNARY(exp, Exp)
GRADSCOPE_UNARY(log, Log)
GRADSCOPE_UNARY(sqrt, Sqrt)
GRADSCOPE_UNARY(abs, Abs)
GRADSCOPE_UNARY(relu, Relu)
GRADSCOPE_UNARY(sigmoid, Sigmoid)
GRADSCOPE_UNARY(tanh, Tanh)
GRADSCOPE_UNARY(softplus, Softplus)
// Losses: mean over all elements of prediction vs target (same shapes), a 1x1 node.
GRADSCOPE_BINARY(bce, Bce)
GRADSCOPE_BINARY(bce_with_logits, BceWithLogits)
GRADSCOPE_BINARY(mse, Mse)
// Softmax cross-entropy: logits classes x samples against labels 1 x samples holding class
// indices (usually a constant); mean over samples, a 1x1 node. A label that is not a whole number
// in [0, classes) is an Error naming the labels' node and the label.
GRADSCOPE_BINARY(cross_entropy, CrossEntropy)
#undef GRADSCOPE_UNARY
#undef GRADSCOPE_BINARY

template <class T>
Var<T> scale(Var<T> x, Const<T> k, SourceLoc loc = SourceLoc::current()) {
  return x.graph().apply(Op::Scale, {x}, k, loc);
}
template <class T>
Var<T> pow(Var<T> x, Const<T> exponent, SourceLoc loc = SourceLoc::current()) {
  return x.graph().apply(Op::Pow, {x}, exponent, loc);
}
template <class T>
Var<T> leaky_relu(Var<T> x, Const<T> slope = T(0.01), SourceLoc loc = SourceLoc::current()) {
  return x.graph().apply(Op::LeakyRelu, {x}, slope, loc);
}
// Reductions. sum(x) and mean(x) reduce over every element (1x1). With an axis, as in NumPy and
// PyTorch for a matrix: 0 or -2 down the rows (1 x cols: the column sums), 1 or -1 across the
// columns (rows x 1: the row sums); any other axis is an Error.
template <class T>
Var<T> sum(Var<T> x, SourceLoc loc = SourceLoc::current()) {
  return x.graph().apply(Op::Sum, {x}, T(ops::Reduction::all_axes), loc);
}
template <class T>
Var<T> sum(Var<T> x, int axis, SourceLoc loc = SourceLoc::current()) {
  return x.graph().apply(Op::Sum, {x}, T(axis), loc);
}
template <class T>
Var<T> mean(Var<T> x, SourceLoc loc = SourceLoc::current()) {
  return x.graph().apply(Op::Mean, {x}, T(ops::Reduction::all_axes), loc);
}
template <class T>
Var<T> mean(Var<T> x, int axis, SourceLoc loc = SourceLoc::current()) {
  return x.graph().apply(Op::Mean, {x}, T(axis), loc);
}
// Along one axis, 0 (each column) or 1 (each row): max and logsumexp reduce each line to one
// element (1 x cols or rows x 1); softmax and log_softmax keep the shape. All four are stable
// for large inputs (the line's largest element is subtracted before exp).
#define GRADSCOPE_ALONG_AXIS(fn, Name)                                  \
  template <class T>                                                    \
  Var<T> fn(Var<T> x, int axis, SourceLoc loc = SourceLoc::current()) { \
    return x.graph().apply(Op::Name, {x}, T(axis), loc);                \
  }
GRADSCOPE_ALONG_AXIS(max, Max)
GRADSCOPE_ALONG_AXIS(logsumexp, Logsumexp)
GRADSCOPE_ALONG_AXIS(softmax, Softmax)
GRADSCOPE_ALONG_AXIS(log_softmax, LogSoftmax)
#undef GRADSCOPE_ALONG_AXIS
// Rows [start, start + length) of x (axis 0) or its columns (axis 1). The op reads the slice's
// shape off a constant of that shape recorded beside it (ops/slice.hpp).
template <class T>
Var<T> slice(Var<T> x, int axis, int start, int length, SourceLoc loc = SourceLoc::current()) {
  const Shape s = x.shape();
  if ((axis != 0 && axis != 1) || length < 1)
    fail("slice: axis {}, length {} for '{}' ({}); axis must be 0 (rows) or 1 (columns) and the "
         "length at least 1", axis, length, x.name(), s);
  const Matrix<T> like =
      axis == 0 ? Matrix<T>::Zero(length, s.cols) : Matrix<T>::Zero(s.rows, length);
  const Var<T> shape = x.graph().constant(like, "slice_shape", loc);
  return x.graph().apply(Op::Slice, {x, shape}, T(start), loc);
}
// b's rows below a's (axis 0) or b's columns right of a's (axis 1)
template <class T>
Var<T> concat(Var<T> a, Var<T> b, int axis, SourceLoc loc = SourceLoc::current()) {
  return a.graph().apply(Op::Concat, {a, b}, T(axis), loc);
}

// Operators. A plain number beside a node becomes a 1x1 constant (broadcast), or a Scale.
// An operator cannot take a defaulted SourceLoc argument, but the implicit conversion of its second
// operand (or its constant) to detail::Located can, and that runs in the caller's expression: so
// anomaly mode names the user's line for `a * b` as it does for mul(a, b).
namespace detail {
template <class T>
struct Located {
  Located(Var<T> v, SourceLoc l = SourceLoc::current()) : var(v), loc(l) {}  // NOLINT: implicit
  Var<T> var;
  SourceLoc loc;
};
template <class T>
struct LocatedConst {
  LocatedConst(T c, SourceLoc l = SourceLoc::current()) : value(c), loc(l) {}  // NOLINT: implicit
  T value;
  SourceLoc loc;
};
}  // namespace detail
template <class T>
using Operand = typename detail::NoDeduce<detail::Located<T>>::type;
template <class T>
using ConstOperand = typename detail::NoDeduce<detail::LocatedConst<T>>::type;

template <class T>
Var<T> operator+(Var<T> a, Operand<T> b) { return add(a, b.var, b.loc); }
template <class T>
Var<T> operator-(Var<T> a, Operand<T> b) { return sub(a, b.var, b.loc); }
template <class T>
Var<T> operator*(Var<T> a, Operand<T> b) { return mul(a, b.var, b.loc); }
template <class T>
Var<T> operator/(Var<T> a, Operand<T> b) { return div(a, b.var, b.loc); }
// Unary minus has no second operand to carry a location: use neg(x) where anomaly mode should
// name the line.
template <class T>
Var<T> operator-(Var<T> a) { return neg(a); }
template <class T>
Var<T> operator+(Var<T> a, ConstOperand<T> c) {
  return add(a, a.graph().constant(c.value, {}, c.loc), c.loc);
}
template <class T>
Var<T> operator+(ConstOperand<T> c, Var<T> a) {
  return add(a.graph().constant(c.value, {}, c.loc), a, c.loc);
}
template <class T>
Var<T> operator-(Var<T> a, ConstOperand<T> c) {
  return sub(a, a.graph().constant(c.value, {}, c.loc), c.loc);
}
template <class T>
Var<T> operator-(ConstOperand<T> c, Var<T> a) {
  return sub(a.graph().constant(c.value, {}, c.loc), a, c.loc);
}
template <class T>
Var<T> operator*(Var<T> a, ConstOperand<T> c) { return scale(a, c.value, c.loc); }
template <class T>
Var<T> operator*(ConstOperand<T> c, Var<T> a) { return scale(a, c.value, c.loc); }
template <class T>
Var<T> operator/(Var<T> a, ConstOperand<T> c) { return scale(a, T(1) / c.value, c.loc); }
template <class T>
Var<T> operator/(ConstOperand<T> c, Var<T> a) {
  return div(a.graph().constant(c.value, {}, c.loc), a, c.loc);
}

}  // namespace gradscope
