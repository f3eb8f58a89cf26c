#pragma once
// Layer normalisation (Ba, Kiros & Hinton 2016): each sample's features normalised to mean 0 and
// variance 1, then scaled by a learned gain and shifted by a learned bias, one per feature:
//   y = γ ⊙ (h − μ) / √(σ² + ε) + β,   μ, σ² the mean and variance of h's column (the sample)
// Composed of the engine's ops (mean down each column, broadcasting sub, mul, div, sqrt), so
// autodiff differentiates it and the op table needs no entry of its own.
#include <gradscope/autodiff/functions.hpp>

namespace gradscope::models {

template <class T>
class LayerNorm {
 public:
  // features: rows of the input; γ starts at 1, β at 0 (parameters "gain" and "shift").
  explicit LayerNorm(Eigen::Index features, double epsilon = 1e-5);

  // h: features x m. Records the normalisation in the current scope, its output named "norm".
  // Throws Error if h has the wrong number of rows.
  Var<T> forward(Var<T> h);

  Eigen::Index features() const { return features_; }
  Parameter<T>& gain() { return gain_; }
  Parameter<T>& shift() { return shift_; }

 private:
  Eigen::Index features_;
  double epsilon_;
  Parameter<T> gain_, shift_;
};

extern template class LayerNorm<double>;
extern template class LayerNorm<float>;

}  // namespace gradscope::models
