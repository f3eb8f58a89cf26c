#include "gradscope/models/dense.hpp"

namespace gradscope::models {

Norm parse_norm(std::string_view name) {
  if (name == "none") return Norm::None;
  if (name == "layer") return Norm::Layer;
  fail("unknown normalisation '{}' (expected none or layer)", name);
}
std::string_view norm_name(Norm norm) { return norm == Norm::Layer ? "layer" : "none"; }

template <class T>
Matrix<T> initialize_weight(const Init& init, Orientation o, Eigen::Index in, Eigen::Index out,
                            Rng& rng) {
  return o == Orientation::InOut ? initialize<T>(init, in, out, in, out, rng)
                                 : initialize<T>(init, out, in, in, out, rng);
}

template <class T>
Dense<T>::Dense(std::string name, Eigen::Index in, Eigen::Index out, Activation act, Orientation o,
                const Init& w_init, const Init& b_init, Rng& rng, Norm norm)
    : name_(std::move(name)),
      in_(in),
      out_(out),
      act_(act),
      orientation_(o),
      w_(initialize_weight<T>(w_init, o, in, out, rng), "w"),
      b_(initialize<T>(b_init, out, 1, in, out, rng), "b") {
  if (norm == Norm::Layer) norm_.emplace(out);
}

template <class T>
std::vector<Parameter<T>*> Dense<T>::parameters() {
  if (!norm_) return {&w_, &b_};
  return {&w_, &b_, &norm_->gain(), &norm_->shift()};
}

template <class T>
LayerOutput<T> Dense<T>::forward(Var<T> a_prev) {
  Graph<T>& g = a_prev.graph();
  if (a_prev.shape().rows != std::uint32_t(in_))
    fail("layer '{}': input '{}' is {}, expected {} rows (features x samples)", name_,
         a_prev.name(), a_prev.shape(), in_);
  auto layer = g.layer(name_);
  LayerOutput<T> o;
  o.activation = act_;
  o.w = g.param(w_);
  o.b = g.param(b_);
  const Var<T> h = affine(orientation_, o.w, a_prev, o.b);
  o.z = (norm_ ? norm_->forward(h.named("h")) : h).named("z");
  o.a = act_ == Activation::Identity ? o.z : activate(act_, o.z).named("a");
  g.mark(o.w, LayerPart::Weight);
  g.mark(o.z, LayerPart::PreActivation);
  g.mark(o.a, LayerPart::Activation);
  return o;
}

template Matrix<double> initialize_weight(const Init&, Orientation, Eigen::Index, Eigen::Index,
                                         Rng&);
template Matrix<float> initialize_weight(const Init&, Orientation, Eigen::Index, Eigen::Index,
                                         Rng&);
template class Dense<double>;
template class Dense<float>;

}  // namespace gradscope::models
