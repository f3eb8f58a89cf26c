#pragma once
// A fully connected layer. Two orientations of the weight, because the post writes
// z = wᵀa + b with w of shape in x out, while most libraries write z = Wa + b with W out x in.
// Activations a are features x samples; b (out x 1) broadcasts across the samples.
//
// forward() records, inside a layer record named after the layer ("layer3", Graph::layer), the
// parameter leaves "w" and "b", the pre-activation "z" and the activation output "a" (for the
// identity activation a is z itself), and marks w, z and a as the layer's parts: the diagnosis
// reads the record, the names are for display. With layer normalisation (Norm::Layer) the summed
// input wᵀa + b is recorded as "h" and z = LayerNorm(h), normalised before the activation as Ba
// et al. place it.
#include <gradscope/autodiff/functions.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/models/activation.hpp"
#include "gradscope/models/init.hpp"
#include "gradscope/models/layer_norm.hpp"

namespace gradscope::models {

enum class Orientation {
  InOut,  // z = wᵀa + b, w in x out (the post)
  OutIn,  // z = Wa + b,  W out x in
};

enum class Norm { None, Layer };
// "none", "layer"; anything else throws Error listing these.
Norm parse_norm(std::string_view name);
std::string_view norm_name(Norm norm);

// A weight matrix for a layer from in to out units, in the orientation's shape.
template <class T>
Matrix<T> initialize_weight(const Init& init, Orientation o, Eigen::Index in, Eigen::Index out,
                            Rng& rng);
// The nodes one unit (a layer, a residual block) recorded in one forward pass: its weight and
// bias (a residual block's first), its pre-activation z and its output a.
template <class T>
struct LayerOutput {
  Var<T> w, b, z, a;
  Activation activation = Activation::Identity;  // a = activation(z); a residual block's branch's
};

// What a dense layer and a residual block's branch record first, in the scope open: out.w and out.b
// (the leaves of w and b) and the returned wᵀa + b (Wa + b by the orientation), layer-normalised
// when norm is not null (the sum then named "h"). Throws Error naming unit when a does not have
// `in` rows.
template <class T>
Var<T> record_summed_input(const std::string& unit, Orientation o, Parameter<T>& w,
                           Parameter<T>& b, LayerNorm<T>* norm, Eigen::Index in, Var<T> a,
                           LayerOutput<T>& out);

template <class T>
class Dense {
 public:
  // name: the scope the layer records in ("layer3"); weights drawn by w_init, b by b_init.
  Dense(std::string name, Eigen::Index in, Eigen::Index out, Activation act, Orientation o,
        const Init& w_init, const Init& b_init, Rng& rng, Norm norm = Norm::None);

  // a_prev: in x m. Throws Error if a_prev has the wrong number of rows.
  LayerOutput<T> forward(Var<T> a_prev);

  const std::string& name() const { return name_; }
  Eigen::Index in() const { return in_; }
  Eigen::Index out() const { return out_; }
  Activation activation() const { return act_; }
  Norm norm() const { return norm_ ? Norm::Layer : Norm::None; }
  Orientation orientation() const { return orientation_; }
  Parameter<T>& w() { return w_; }
  Parameter<T>& b() { return b_; }
  const Parameter<T>& w() const { return w_; }
  const Parameter<T>& b() const { return b_; }
  std::vector<Parameter<T>*> parameters();  // w, b, and the normalisation's gain and shift

 private:
  std::string name_;
  Eigen::Index in_, out_;
  Activation act_;
  Orientation orientation_;
  Parameter<T> w_, b_;
  std::optional<LayerNorm<T>> norm_;
};

extern template class Dense<double>;
extern template class Dense<float>;

}  // namespace gradscope::models
