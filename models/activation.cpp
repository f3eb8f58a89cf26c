#include "gradscope/models/activation.hpp"

namespace gradscope::models {

namespace {
constexpr std::pair<Activation, std::string_view> kNames[] = {{Activation::Identity, "identity"},
                                                              {Activation::Relu, "relu"},
                                                              {Activation::LeakyRelu, "leaky_relu"},
                                                              {Activation::Sigmoid, "sigmoid"},
                                                              {Activation::Tanh, "tanh"}};
}  // namespace

Activation parse_activation(std::string_view name) {
  for (const auto& [act, n] : kNames)
    if (n == name) return act;
  fail("unknown activation '{}' (expected identity, relu, leaky_relu, sigmoid or tanh)", name);
}

std::string_view activation_name(Activation act) {
  for (const auto& [a, n] : kNames)
    if (a == act) return n;
  fail("activation code {} out of range", int(act));
}

template <class T>
Var<T> activate(Activation act, Var<T> z) {
  switch (act) {
    case Activation::Identity:
      return z;
    case Activation::Relu:
      return relu(z);
    case Activation::LeakyRelu:
      return leaky_relu(z, T(kLeakyReluSlope));
    case Activation::Sigmoid:
      return sigmoid(z);
    case Activation::Tanh:
      return tanh(z);
  }
  fail("activation code {} out of range", int(act));
}

template <class T>
Matrix<T> derivative(Activation act, const Matrix<T>& z) {
  const auto x = z.array();
  switch (act) {
    case Activation::Identity:
      return Matrix<T>::Ones(z.rows(), z.cols());
    case Activation::Relu:  // 1 where z > 0
      return (x > T(0)).template cast<T>().matrix();
    case Activation::LeakyRelu:  // 1 where z > 0, the slope elsewhere
      return (x > T(0))
          .select(Matrix<T>::Ones(z.rows(), z.cols()).array(), T(kLeakyReluSlope))
          .matrix();
    case Activation::Sigmoid: {  // σ(z)(1 - σ(z))
      const auto s = (T(1) / (T(1) + (-x).exp())).eval();
      return (s * (T(1) - s)).matrix();
    }
    case Activation::Tanh:  // 1 - tanh²(z)
      return (T(1) - x.tanh().square()).matrix();
  }
  fail("activation code {} out of range", int(act));
}

template Var<double> activate(Activation, Var<double>);
template Var<float> activate(Activation, Var<float>);
template Matrix<double> derivative(Activation, const Matrix<double>&);
template Matrix<float> derivative(Activation, const Matrix<float>&);

}  // namespace gradscope::models
