#include "gradscope/models/activation.hpp"

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
  Matrix<T> d = Matrix<T>::Ones(z.rows(), z.cols());
  ops::with_activation(e.op, [&](auto k) {
    using K = decltype(k);
    Matrix<T> y(z.rows(), z.cols());
    ops::Forward<T> f{{z.data(), z.rows(), z.cols()}, {nullptr, 0, 0}, {y.data(), y.rows(), y.cols()},
                      T(e.attr)};
    K::forward(f);
    for (Eigen::Index i = 0; i < z.size(); ++i) d(i) = K::slope(z(i), y(i), T(e.attr));
  });
  return d;
}

template Var<double> activate(Activation, Var<double>);
template Var<float> activate(Activation, Var<float>);
template Matrix<double> derivative(Activation, const Matrix<double>&);
template Matrix<float> derivative(Activation, const Matrix<float>&);

}  // namespace gradscope::models
