#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = eᵃ; overflows to +inf above ~709 (double) or ~88 (float)
struct Exp : Unary {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out.array() = f.a.array().exp();
  }
  // d/da eᵃ = eᵃ = out
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    b.ga.array() += b.gout.array() * b.out.array();
  }
};

}  // namespace gradscope::ops
