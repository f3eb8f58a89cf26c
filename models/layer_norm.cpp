#include "gradscope/models/layer_norm.hpp"

namespace gradscope::models {

template <class T>
LayerNorm<T>::LayerNorm(Eigen::Index features, double epsilon)
    : features_(features),
      epsilon_(epsilon),
      gain_(Matrix<T>::Ones(features, 1), "gain"),
      shift_(Matrix<T>::Zero(features, 1), "shift") {
  if (features < 2) fail("layer norm: {} features; normalising needs at least 2", features);
}

template <class T>
Var<T> LayerNorm<T>::forward(Var<T> h) {
  Graph<T>& g = h.graph();
  if (h.shape().rows != std::uint32_t(features_))
    fail("layer norm: input '{}' is {}, expected {} rows (features x samples)", h.name(),
         h.shape(), features_);
  const Var<T> centred = h - mean(h, 0);  // axis 0: one mean per sample (column)
  const Var<T> deviation = sqrt(mean(centred * centred, 0) + T(epsilon_));
  return (centred / deviation * g.param(gain_) + g.param(shift_)).named("norm");
}

template class LayerNorm<double>;
template class LayerNorm<float>;

}  // namespace gradscope::models
