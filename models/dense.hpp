#pragma once
// A fully connected layer. Two orientations of the weight, because the seed writes
// z = wᵀa + b with w of shape in x out, while most libraries write z = Wa + b with W out x in.
// Activations a are features x samples; b (out x 1) broadcasts across the samples.
//
// forward() records, inside a layer record named after the layer ("layer3", Graph::layer), the
// parameter leaves "w" and "b", the pre-activation "z" and the activation output "a" (for the
// identity activation a is z itself), and marks w, z and a as the layer's parts: the diagnosis
// reads the record, the names are for display.
#include <gradscope/autodiff/functions.hpp>
#include <string>

#include "gradscope/models/activation.hpp"
#include "gradscope/models/init.hpp"

namespace gradscope::models {

enum class Orientation {
  InOut,  // z = wᵀa + b, w in x out (the seed)
  OutIn,  // z = Wa + b,  W out x in
};

// The nodes one layer recorded in one forward pass.
template <class T>
struct LayerOutput {
  Var<T> w, b, z, a;
  Activation activation = Activation::Identity;
};

template <class T>
class Dense {
 public:
  // name: the scope the layer records in ("layer3"); weights drawn by w_init, b by b_init.
  Dense(std::string name, Eigen::Index in, Eigen::Index out, Activation act, Orientation o,
        const Init& w_init, const Init& b_init, Rng& rng);

  // a_prev: in x m. Throws Error if a_prev has the wrong number of rows.
  LayerOutput<T> forward(Var<T> a_prev);

  const std::string& name() const { return name_; }
  Eigen::Index in() const { return in_; }
  Eigen::Index out() const { return out_; }
  Activation activation() const { return act_; }
  Orientation orientation() const { return orientation_; }
  Parameter<T>& w() { return w_; }
  Parameter<T>& b() { return b_; }
  const Parameter<T>& w() const { return w_; }
  const Parameter<T>& b() const { return b_; }

 private:
  std::string name_;
  Eigen::Index in_, out_;
  Activation act_;
  Orientation orientation_;
  Parameter<T> w_, b_;
};

extern template class Dense<double>;
extern template class Dense<float>;

}  // namespace gradscope::models
