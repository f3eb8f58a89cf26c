#pragma once
// The post's training step (post_workload.hpp) hand-written as fast as the workload allows: the
// baselines gradscope's step is measured against. Written for its shapes (2-unit layers, one
// output), forward and backward fused over blocks of samples so that the activations stay in L1,
// and every sum over samples kept in accumulators of its own (58 of them, one per weight and
// bias, or a vector's lanes each), so no long chain of dependent additions. The loss itself is not
// computed: the update needs only its gradient σ(z) - y.
//
// Two versions of one source: Scalar, one sample at a time in plain C++ with libm's exp; and
// Vector, a sample per lane of the widest vectors the CPU has (8 with AVX-512, 4 with AVX2, with
// fused multiply-adds; 2 with the baseline's SSE2), chosen at run time as the library's kernels
// are (ops/simd.hpp), with the library's vectorised σ.
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
  // What runs: "scalar", or for Vector the vectors' instruction set and lanes ("AVX-512, 8 lanes").
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
