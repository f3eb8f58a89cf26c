#include "gradscope/models/residual.hpp"

#include <cmath>

namespace gradscope::models {

template <class T>
ResidualBlock<T>::ResidualBlock(std::string name, Eigen::Index width, Activation act, Orientation o,
                                const Init& w_init, const Init& b_init, double branch_scale,
                                Norm norm, Rng& rng)
    : name_(std::move(name)),
      width_(width),
      act_(act),
      orientation_(o),
      w1_(initialize_weight<T>(w_init, o, width, width, rng), "w1"),
      b1_(initialize<T>(b_init, width, 1, width, width, rng), "b1"),
      w2_(initialize_weight<T>(w_init, o, width, width, rng) * T(branch_scale), "w2"),
      b2_(initialize<T>(b_init, width, 1, width, width, rng), "b2") {
  if (!std::isfinite(branch_scale))
    fail("residual block '{}': branch scale {} is not finite", name_, branch_scale);
  if (norm == Norm::Layer) norm_.emplace(width);
}

template <class T>
LayerOutput<T> ResidualBlock<T>::forward(Var<T> a_prev) {
  Graph<T>& g = a_prev.graph();
  auto layer = g.layer(name_);
  LayerOutput<T> o, second;
  o.activation = act_;
  const Var<T> z1 = record_summed_input(name_, orientation_, w1_, b1_, norm_ ? &*norm_ : nullptr,
                                        width_, a_prev, o)
                        .named("z1");
  const Var<T> u = act_ == Activation::Identity ? z1 : activate(act_, z1).named("u");
  const Var<T> branch =
      record_summed_input<T>(name_, orientation_, w2_, b2_, nullptr, width_, u, second)
          .named("branch");
  o.z = o.a = (a_prev + branch).named("a");
  g.mark(o.w, LayerPart::Weight);
  g.mark(o.z, LayerPart::PreActivation);
  g.mark(o.a, LayerPart::Activation);
  return o;
}

template <class T>
std::vector<Parameter<T>*> ResidualBlock<T>::parameters() {
  if (!norm_) return {&w1_, &b1_, &w2_, &b2_};
  return {&w1_, &b1_, &w2_, &b2_, &norm_->gain(), &norm_->shift()};
}

template class ResidualBlock<double>;
template class ResidualBlock<float>;

namespace {
const PostNetworkSpec& checked(const PostNetworkSpec& s) {
  if (s.depth < 3)
    fail("residual network: depth {}; need at least 3 (input layer, a block, output layer)",
         s.depth);
  if (s.inputs < 1) fail("residual network: {} inputs; need at least 1", s.inputs);
  if (s.width < 1) fail("residual network: width {}; need at least 1", s.width);
  return s;
}
}  // namespace

template <class T>
ResidualMlp<T>::ResidualMlp(const PostNetworkSpec& spec)
    : ResidualMlp(checked(spec), Rng(spec.seed)) {}

// One stream of random numbers, drawn in the order input layer, output layer, blocks.
template <class T>
ResidualMlp<T>::ResidualMlp(const PostNetworkSpec& s, Rng&& rng)
    : input_("layer1", s.inputs, s.width, s.hidden, Orientation::InOut, s.hidden_init,
             Init::constant(0), rng, s.norm),
      output_(fmt::format("layer{}", s.depth), s.width, 1, s.output, Orientation::InOut, s.output_init,
              Init::constant(0), rng) {
  const std::size_t blocks = s.depth - 2;
  blocks_.reserve(blocks);
  for (std::size_t l = 2; l < s.depth; ++l)
    blocks_.emplace_back(fmt::format("block{}", l), s.width, s.hidden, Orientation::InOut,
                         s.hidden_init, Init::constant(0), 1 / std::sqrt(double(blocks)), s.norm,
                         rng);
}

template <class T>
NetworkForward<T> ResidualMlp<T>::forward(Var<T> x) {
  NetworkForward<T> f;
  f.layers.reserve(depth());
  f.layers.push_back(input_.forward(x));
  for (auto& block : blocks_) f.layers.push_back(block.forward(f.layers.back().a));
  f.layers.push_back(output_.forward(f.layers.back().a));
  return f;
}

template <class T>
std::vector<Parameter<T>*> ResidualMlp<T>::parameters() {
  std::vector<Parameter<T>*> p = input_.parameters();
  for (auto& block : blocks_)
    for (Parameter<T>* q : block.parameters()) p.push_back(q);
  for (Parameter<T>* q : output_.parameters()) p.push_back(q);
  return p;
}

template class ResidualMlp<double>;
template class ResidualMlp<float>;

}  // namespace gradscope::models
