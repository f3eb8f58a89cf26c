#pragma once
// The post's training step (post_workload.hpp) hand-written as fast as the workload allows: the
// baselines gradscope's step is measured against. Written for its shapes (2-unit layers, one
// output), forward and backward fused over blocks of samples so that the activations stay in L1,
// and every sum over samples kept in accumulators of its own (58 of them, one per weight and
// bias, or 4 lanes each), so no long chain of dependent additions. The loss itself is not
// computed: the update needs only its gradient σ(z) - y.
//
// Two versions of one source: Scalar, one sample at a time in plain C++ with libm's exp; and
// Vector, 4 samples per AVX2 register with fused multiply-adds and the library's vectorised σ (8
// lanes where the CPU has AVX-512), chosen at run time (ops/simd.hpp) and Scalar on a CPU without
// AVX2 and FMA.
#include <array>
#include <string>
#include <vector>

#include "post_workload.hpp"

namespace gradscope::bench {

// Layer l's weights w[l][2 i + o] (input unit i to unit o) and biases b[l][o]; the output layer
// uses o = 0 only.
struct PostParams {
  std::array<std::array<double, 4>, kPostLayers> w{};
  std::array<std::array<double, 2>, kPostLayers> b{};
};

class PostLoop {
 public:
  enum class Lanes { Scalar, Vector };
  PostLoop(const PostData& data, Lanes lanes);
  void step();
  double w(int layer, int i, int o) const { return p_.w[layer][2 * i + o]; }
  // What runs: "scalar" or "AVX2+FMA, 4 lanes" (Vector on a CPU that has them).
  std::string what() const;

  // The floating-point operations (+ - * /, comparisons) and the exps of one scalar step,
  // counted by running it on a number type that counts them.
  struct Count {
    double ops, exps;
  };
  static Count count_one_step(const PostData& data);

 private:
  std::vector<double> x0_, x1_, y_;  // the data, one array per feature
  PostParams p_;
  bool vector_;
};

}  // namespace gradscope::bench
