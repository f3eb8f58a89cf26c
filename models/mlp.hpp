#pragma once
// A stack of dense layers (multi-layer perceptron), built with MlpBuilder or post_network().
// Layer l (1 = next to the input, as in the post) records in scope "layer<l>".
#include <cstdint>
#include <vector>

#include "gradscope/models/dense.hpp"
#include "gradscope/models/network.hpp"

namespace gradscope::models {

struct LayerSpec {
  Eigen::Index out = 1;
  Activation activation = Activation::Relu;
  Init w_init = Init::xavier_uniform();
  Init b_init = Init::constant(0);
  Norm norm = Norm::None;
};

// forward() records layer l's nodes in layers[l - 1].
template <class T>
class Mlp : public Network<T> {
 public:
  // Throws Error for no layers, a zero width or zero inputs.
  Mlp(Eigen::Index inputs, const std::vector<LayerSpec>& layers, Orientation o, std::uint64_t seed);

  NetworkForward<T> forward(Var<T> x) override;

  Eigen::Index inputs() const override { return inputs_; }
  std::size_t depth() const { return layers_.size(); }
  Dense<T>& layer(std::size_t l) { return layers_[checked(l)]; }  // 1-based, as the post counts
  const Dense<T>& layer(std::size_t l) const { return layers_[checked(l)]; }
  std::vector<Parameter<T>*> parameters() override;

 private:
  std::size_t checked(std::size_t l) const;  // index of layer l, or Error
  Eigen::Index inputs_;
  std::vector<Dense<T>> layers_;
};

// Fluent construction:
//   auto net = MlpBuilder(2).dense(16, Activation::Relu, Init::he_normal())
//                           .dense(1, Activation::Sigmoid).seed(7).build<double>();
class MlpBuilder {
 public:
  explicit MlpBuilder(Eigen::Index inputs) : inputs_(inputs) {}
  MlpBuilder& dense(Eigen::Index out, Activation act, Init w_init = Init::xavier_uniform(),
                    Init b_init = Init::constant(0), Norm norm = Norm::None) {
    layers_.push_back({out, act, w_init, b_init, norm});
    return *this;
  }
  MlpBuilder& orientation(Orientation o) {
    orientation_ = o;
    return *this;
  }
  MlpBuilder& seed(std::uint64_t s) {
    seed_ = s;
    return *this;
  }
  template <class T>
  Mlp<T> build() const {
    return Mlp<T>(inputs_, layers_, orientation_, seed_);
  }

 private:
  Eigen::Index inputs_;
  std::vector<LayerSpec> layers_;
  Orientation orientation_ = Orientation::InOut;
  std::uint64_t seed_ = 0;
};

// The post's deep narrow network: depth - 1 hidden layers of `width` units with `hidden`
// activation and weights hidden_init, then one output unit with `output` activation and weights
// output_init. The post's: width 2, w = 0.8·I (or 1.1·I) hidden, w = [1,1]ᵀ (constant 1) out, b =
// 0. norm: the hidden layers' normalisation (none in the post).
struct PostNetworkSpec {
  Eigen::Index inputs = 2;
  std::size_t depth = 10;
  Eigen::Index width = 2;
  Activation hidden = Activation::Relu;
  Activation output = Activation::Sigmoid;
  Init hidden_init = Init::scaled_identity(0.8);
  Init output_init = Init::constant(1);
  Norm norm = Norm::None;
  std::uint64_t seed = 0;
};
template <class T>
Mlp<T> post_network(const PostNetworkSpec& spec);

// Logistic regression: one sigmoid unit, p = σ(wᵀx + b), as a one-layer Mlp ("layer1").
template <class T>
Mlp<T> logistic_regression(Eigen::Index inputs, const Init& w_init = Init::constant(0));

extern template class Mlp<double>;
extern template class Mlp<float>;

}  // namespace gradscope::models
