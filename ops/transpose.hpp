#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = aᵀ
struct Transpose : Unary {
  static constexpr bool stores_first = true;
  static constexpr const char* rule = "any non-empty shape; m x n becomes n x m";
  static Shape shape(Shape a, Shape, double) { return {a.cols, a.rows}; }
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out = f.a.transpose();
  }
  // dL/da = (dL/dout)ᵀ
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    put(b.ga, b.gout.transpose(), b.store_a);
  }
};

}  // namespace gradscope::ops
