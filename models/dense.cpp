#include "gradscope/models/dense.hpp"

namespace gradscope::models {

template <class T>
Dense<T>::Dense(std::string name, Eigen::Index in, Eigen::Index out, Activation act, Orientation o,
                const Init& w_init, const Init& b_init, Rng& rng)
    : name_(std::move(name)),
      in_(in),
      out_(out),
      act_(act),
      orientation_(o),
      w_(o == Orientation::InOut ? initialize<T>(w_init, in, out, in, out, rng)
                                 : initialize<T>(w_init, out, in, in, out, rng),
         "w"),
      b_(initialize<T>(b_init, out, 1, in, out, rng), "b") {}

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
  const Var<T> wa =
      orientation_ == Orientation::InOut ? matmul(transpose(o.w), a_prev) : matmul(o.w, a_prev);
  o.z = (wa + o.b).named("z");
  o.a = act_ == Activation::Identity ? o.z : activate(act_, o.z).named("a");
  g.mark(o.w, LayerPart::Weight);
  g.mark(o.z, LayerPart::PreActivation);
  g.mark(o.a, LayerPart::Activation);
  return o;
}

template class Dense<double>;
template class Dense<float>;

}  // namespace gradscope::models
