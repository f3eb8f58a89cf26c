#pragma once
// Activations by name. A layer records its activation with the engine's ops, so autodiff
// differentiates it; derivative() evaluates the op's own φ′ (its slope()), for hand-derived
// backward passes.
#include <gradscope/autodiff/functions.hpp>
#include <string_view>

namespace gradscope::models {

enum class Activation { Identity, Relu, LeakyRelu, Sigmoid, Tanh };

// "identity", "relu", "leaky_relu", "sigmoid", "tanh"; anything else throws Error listing these.
Activation parse_activation(std::string_view name);
std::string_view activation_name(Activation act);

// a = act(z), recorded in z's graph. leaky_relu uses slope 0.01. Identity returns z itself.
template <class T>
Var<T> activate(Activation act, Var<T> z);

// σ'(z) elementwise, for the activation's own formula (relu'(0) = 0, as the engine's relu).
template <class T>
Matrix<T> derivative(Activation act, const Matrix<T>& z);

inline constexpr double kLeakyReluSlope = 0.01;

}  // namespace gradscope::models
