#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = a b, (m x k)(k x n) -> m x n
struct Matmul {
  static constexpr int arity = 2;
  static constexpr bool has_attr = false;
  static constexpr const char* rule = "inner dimensions must agree: (m x k)(k x n)";
  static Shape shape(Shape a, Shape b, double) {
    return a.cols == b.rows ? Shape{a.rows, b.cols} : Shape{};
  }
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out.noalias() = f.a * f.b;
  }
  // dL/da = dL/dout bᵀ, dL/db = aᵀ dL/dout
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    if (wants(b.ga)) b.ga.noalias() += b.gout * b.b.transpose();
    if (wants(b.gb)) b.gb.noalias() += b.a.transpose() * b.gout;
  }
  static constexpr std::array<ShapePair, 5> test_shapes{
      {{{2, 3}, {3, 4}}, {{1, 3}, {3, 1}}, {{3, 1}, {1, 4}}, {{1, 1}, {1, 1}}, {{4, 4}, {4, 4}}}};
  static constexpr std::array<double, 1> test_attrs{0.0};
  static constexpr std::array<Domain, 2> domain{{{-2, 2, 0}, {-2, 2, 0}}};
};

}  // namespace gradscope::ops
