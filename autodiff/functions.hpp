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
