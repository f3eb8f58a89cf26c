#pragma once
#include "gradscope/ops/kernel.hpp"
#include "gradscope/ops/vector_math.hpp"

namespace gradscope::ops {

// out = eᵃ (vector_math.hpp); overflows to +inf above ~709 (double) or ~88 (float)
struct Exp : Unary {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    vec::exp(f.a.data(), f.out.data(), std::size_t(f.a.size()));
  }
  // d/da eᵃ = eᵃ = out
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    put(b.ga.array(), b.gout.array() * b.out.array(), b.store_a);
  }
};

}  // namespace gradscope::ops
