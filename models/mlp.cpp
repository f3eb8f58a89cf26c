#include "gradscope/models/mlp.hpp"

namespace gradscope::models {

template <class T>
Mlp<T>::Mlp(Eigen::Index inputs, const std::vector<LayerSpec>& layers, Orientation o,
            std::uint64_t seed)
    : inputs_(inputs) {
  if (inputs <= 0) fail("mlp: {} inputs; need at least 1", inputs);
  if (layers.empty()) fail("mlp: no layers");
  Rng rng(seed);
  layers_.reserve(layers.size());
  Eigen::Index in = inputs;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& s = layers[l];
    if (s.out <= 0) fail("mlp: layer {} has width {}; need at least 1", l + 1, s.out);
    layers_.emplace_back(fmt::format("layer{}", l + 1), in, s.out, s.activation, o, s.w_init,
                         s.b_init, rng, s.norm);
    in = s.out;
  }
}

template <class T>
NetworkForward<T> Mlp<T>::forward(Var<T> x) {
  NetworkForward<T> f;
  f.layers.reserve(layers_.size());
  Var<T> a = x;
  for (auto& layer : layers_) {
    f.layers.push_back(layer.forward(a));
    a = f.layers.back().a;
  }
  return f;
}

template <class T>
std::size_t Mlp<T>::checked(std::size_t l) const {
  if (l < 1 || l > layers_.size())
    fail("mlp: layer {} does not exist (layers 1..{})", l, layers_.size());
  return l - 1;
}

template <class T>
std::vector<Parameter<T>*> Mlp<T>::parameters() {
  std::vector<Parameter<T>*> p;
  for (auto& layer : layers_)
    for (Parameter<T>* q : layer.parameters()) p.push_back(q);
  return p;
}

template <class T>
Mlp<T> post_network(const PostNetworkSpec& s) {
  if (s.depth < 1) fail("post network: depth {}; need at least 1", s.depth);
  MlpBuilder b(s.inputs);
  for (std::size_t l = 1; l < s.depth; ++l) b.dense(s.width, s.hidden, s.hidden_init, Init::constant(0), s.norm);
  return b.dense(1, s.output, s.output_init).seed(s.seed).build<T>();
}

template <class T>
Mlp<T> logistic_regression(Eigen::Index inputs, const Init& w_init) {
  return MlpBuilder(inputs).dense(1, Activation::Sigmoid, w_init).build<T>();
}

template class Mlp<double>;
template class Mlp<float>;
template Mlp<double> post_network(const PostNetworkSpec&);
template Mlp<float> post_network(const PostNetworkSpec&);
template Mlp<double> logistic_regression(Eigen::Index, const Init&);
template Mlp<float> logistic_regression(Eigen::Index, const Init&);

}  // namespace gradscope::models
