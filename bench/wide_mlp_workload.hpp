#pragma once
// The wide_mlp workload: one SGD step (rate kWideRate) of a 784-512-512-10 ReLU MLP on a batch of
// 256, float32, loss bce_with_logits (mean over all elements) against one-hot targets, data x as
// features x samples. Shared by wide_mlp.cpp and the libtorch comparison.
//
// Two weight orientations, as models::Dense offers: W out x in with z = W a + b (the usual one),
// and the post's w in x out with z = wᵀa + b, which records a transpose node and so copies every
// weight matrix forward and back.
#include <gradscope/autodiff/functions.hpp>

#include <random>
#include <vector>

namespace gradscope::bench {

inline constexpr int kWideBatch = 256;
inline constexpr int kWideUnits[] = {784, 512, 512, 10};
inline constexpr int kWideLayers = 3;
inline constexpr float kWideRate = 1e-3f;

struct WideMlpData {
  Matrix<float> x;  // 784 x 256, standard normal
  Matrix<float> y;  // 10 x 256, one-hot: sample j is of class j mod 10
  explicit WideMlpData(std::mt19937& rng);
};

class WideMlp {
 public:
  // He-initialised weights (normal, variance 2 / fan-in) drawn from rng, zero biases.
  WideMlp(bool post_orientation, std::mt19937& rng);
  float step(const WideMlpData& data);  // records, backward, update; returns the loss
  // Layer l's (0-based) weight in the usual orientation (out x in), whatever the stored one.
  Matrix<float> w_out_in(int l) const;
  const Matrix<float>& w(int l) const { return params_[2 * l].value(); }  // as stored
  const Matrix<float>& b(int l) const { return params_[2 * l + 1].value(); }

 private:
  bool post_orientation_;
  std::vector<Parameter<float>> params_;  // w1, b1, w2, b2, w3, b3
  Graph<float> g_;
};

}  // namespace gradscope::bench
