#pragma once
#include "gradscope/ops/reduction.hpp"

namespace gradscope::ops {

// out = Σ a over every element, down the rows or across the columns (Reduction's axis)
struct Sum : Reduction {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    reduce_forward(f.out, f.a, f.attr);
  }
  // d/da_ij = 1: each element receives the gradient of the sum it went into
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    put(b.ga, expand(b.gout, b.ga.rows(), b.ga.cols()), b.store_a);
  }
};

}  // namespace gradscope::ops
