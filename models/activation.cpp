#include "gradscope/models/activation.hpp"

#include "gradscope/models/activation_op.hpp"
#include "gradscope/ops/activation_values.hpp"

namespace gradscope::models {

namespace {
// Each activation by name, with the op that records it (identity records none): φ and φ′ are the
// op's (ops/<op>.hpp), declared there once.
struct Entry {
  Activation act;
  std::string_view name;
  Op op;
  double attr;
};
constexpr Entry kActivations[] = {{Activation::Identity, "identity", Op::Constant, 0},
                                  {Activation::Relu, "relu", Op::Relu, 0},
                                  {Activation::LeakyRelu, "leaky_relu", Op::LeakyRelu, kLeakyReluSlope},
                                  {Activation::Sigmoid, "sigmoid", Op::Sigmoid, 0},
                                  {Activation::Tanh, "tanh", Op::Tanh, 0}};

const Entry& entry(Activation act) {
  for (const auto& e : kActivations)
    if (e.act == act) return e;
  fail("activation code {} out of range", int(act));
}
}  // namespace

Activation parse_activation(std::string_view name) {
  for (const auto& e : kActivations)
    if (e.name == name) return e.act;
  fail("unknown activation '{}' (expected identity, relu, leaky_relu, sigmoid or tanh)", name);
}

std::string_view activation_name(Activation act) { return entry(act).name; }

template <class T>
Var<T> activate(Activation act, Var<T> z) {
  const Entry& e = entry(act);
  return act == Activation::Identity ? z : z.graph().apply(e.op, {z}, T(e.attr));
}

template <class T>
Matrix<T> derivative(Activation act, const Matrix<T>& z) {
  const Entry& e = entry(act);
  Matrix<T> y(z.rows(), z.cols()), d(z.rows(), z.cols());
  ops::activation_values(e.op, T(e.attr), z.data(), y.data(), d.data(), z.size());
  return d;
}

ActivationOp activation_op(Activation act) {
  const Entry& e = entry(act);
  return {e.op, e.attr};
}

template Var<double> activate(Activation, Var<double>);
template Var<float> activate(Activation, Var<float>);
template Matrix<double> derivative(Activation, const Matrix<double>&);
template Matrix<float> derivative(Activation, const Matrix<float>&);

}  // namespace gradscope::models
