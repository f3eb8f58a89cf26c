#pragma once
// The post's demo network from the model library — depth layers of 2 units, w = 0.8·I (last layer
// [1,1]ᵀ), b = 0, sigmoid output — on the post's two Gaussian clusters of 10 points each, after one
// forward and backward pass. Layer l records in scope "layer<l>": w, b, z = wᵀa + b, a.
#include <gradscope/models/models.hpp>

namespace gradscope::test {

struct PostPass {
  models::Mlp<double> net;  // holds the parameters: declared before, so destroyed after, the graph
  Graph<double> g;
  Var<double> loss;

  PostPass(std::size_t depth, models::Activation hidden) : net(make(depth, hidden)) {
    const models::Dataset data = models::two_gaussians({});
    const auto forward = net.forward(g.constant(data.x, "x"));
    loss = models::binary_cross_entropy(forward.output(), g.constant(data.y, "y"));
    g.backward(loss);
  }

 private:
  static models::Mlp<double> make(std::size_t depth, models::Activation hidden) {
    models::PostNetworkSpec spec;
    spec.depth = depth;
    spec.hidden = hidden;
    return models::post_network<double>(spec);
  }
};

}  // namespace gradscope::test
