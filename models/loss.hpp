#pragma once
// Losses on a network's output layer, each the mean over all samples (the post's 1/m), recorded as
// a top-level node named "loss".
#include "gradscope/models/dense.hpp"

namespace gradscope::models {

// Binary cross-entropy of the output against 0/1 labels y (1 x m). When the output activation is
// sigmoid the loss is computed from the logits z (bce_with_logits): σ(z) rounds to exactly 0 or 1
// once |z| > 37, and bce on that probability is inf, which long training reaches. d loss/dz is
// then (σ(z) - y)/m — the post's dz = a - y, divided by m.
template <class T>
Var<T> binary_cross_entropy(const LayerOutput<T>& out, Var<T> y) {
  const Var<T> l =
      out.activation == Activation::Sigmoid ? bce_with_logits(out.z, y) : bce(out.a, y);
  return l.named("loss");
}

// Mean squared error of the output activation against targets of the same shape.
template <class T>
Var<T> mean_squared_error(const LayerOutput<T>& out, Var<T> y) {
  return mse(out.a, y).named("loss");
}

}  // namespace gradscope::models
