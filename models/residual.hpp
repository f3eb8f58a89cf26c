#pragma once
// Residual networks (He et al. 2016): units that add a learned branch to their input, so that the
// gradient reaching a block is the one leaving it plus the branch's share, and a deep stack
// neither vanishes nor explodes where the plain stack of the same layers does.
#include <cstdint>
#include <string>
#include <vector>

#include "gradscope/models/dense.hpp"
#include "gradscope/models/mlp.hpp"
#include "gradscope/models/network.hpp"

namespace gradscope::models {

// One block, the identity-mapping form (He et al. 2016, "Identity mappings in deep residual
// networks": no activation after the sum):
//   out = a + W₂ φ(W₁a + b₁) + b₂
// with W₁a + b₁ layer-normalised before φ under Norm::Layer, as in Dense. W₂ is drawn by w_init
// and then multiplied by branch_scale (ResidualMlp passes 1/√blocks, as GPT-2 scales its residual
// projections), so the branch adds a share of variance 1/blocks and the stack's gain stays near 1
// at any depth.
//
// forward() records in a layer record named after the block ("block3"): parameters "w1", "b1",
// "w2", "b2" (and the normalisation's "gain", "shift"), the branch's "z1", "u" = φ(z1), "branch",
// and the sum "a". It marks w1 as the unit's weight and the sum as both its pre-activation and its
// activation: the gradient the diagnosis measures at a block is the one the stream carries from
// block to block.
template <class T>
class ResidualBlock {
 public:
  // Throws Error for a width below 1 (below 2 with Norm::Layer) or a non-finite branch_scale.
  ResidualBlock(std::string name, Eigen::Index width, Activation act, Orientation o,
                const Init& w_init, const Init& b_init, double branch_scale, Norm norm, Rng& rng);

  // a_prev: width x m. Throws Error if a_prev has the wrong number of rows.
  LayerOutput<T> forward(Var<T> a_prev);

  const std::string& name() const { return name_; }
  Eigen::Index width() const { return width_; }
  std::vector<Parameter<T>*> parameters();

 private:
  std::string name_;
  Eigen::Index width_;
  Activation act_;
  Orientation orientation_;
  Parameter<T> w1_, b1_, w2_, b2_;
  std::optional<LayerNorm<T>> norm_;
};

// A stack of spec.depth units built from the post network's spec (mlp.hpp), its hidden layers
// turned into blocks: the input layer ("layer1", inputs -> width, hidden activation, hidden_init),
// depth − 2 residual blocks ("block2" .. "block<depth-1>", width -> width, both weights drawn by
// hidden_init) and the output layer ("layer<depth>", width -> 1, output activation, output_init);
// post's orientation (wᵀa), biases 0. Counting units as the diagnosis does, a ResidualMlp and an Mlp
// of the same depth have tables of the same length.
template <class T>
class ResidualMlp : public Network<T> {
 public:
  // Throws Error for a depth below 3 (no block), zero inputs or a zero width.
  explicit ResidualMlp(const PostNetworkSpec& spec);

  NetworkForward<T> forward(Var<T> x) override;
  std::vector<Parameter<T>*> parameters() override;
  Eigen::Index inputs() const override { return input_.in(); }
  std::size_t depth() const { return blocks_.size() + 2; }

 private:
  ResidualMlp(const PostNetworkSpec& spec, Rng&& rng);
  Dense<T> input_;
  Dense<T> output_;
  std::vector<ResidualBlock<T>> blocks_;
};

extern template class ResidualBlock<double>;
extern template class ResidualBlock<float>;
extern template class ResidualMlp<double>;
extern template class ResidualMlp<float>;

}  // namespace gradscope::models
