#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = [a; b] (axis 0: b's rows below a's) or [a, b] (axis 1: b's columns right of a's)
struct Concat : Rearrangement {
  static constexpr bool stores_first = true;
  static constexpr const char* rule =
      "axis 0 stacks rows (equal column counts), axis 1 columns (equal row counts)";
  static Shape shape(Shape a, Shape b, double axis) {
    if (axis == 0 && a.cols == b.cols) return {a.rows + b.rows, a.cols};
    if (axis == 1 && a.rows == b.rows) return {a.rows, a.cols + b.cols};
    return {};
  }
  // The comma initializer fills out left to right and moves down when a row of blocks is full:
  // a spans out's columns for axis 0, so b goes below it, and out's rows for axis 1, so b goes
  // to its right.
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    f.out << f.a, f.b;
  }
  // d/da = the output gradient's top-left a-shaped block, d/db its bottom-right b-shaped block
  // (below a for axis 0, right of a for axis 1)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    if (wants(b.ga)) put(b.ga, b.gout.topLeftCorner(b.a.rows(), b.a.cols()), b.store_a);
    if (wants(b.gb)) put(b.gb, b.gout.bottomRightCorner(b.b.rows(), b.b.cols()), b.store_b);
  }
  static constexpr std::array<ShapePair, 5> test_shapes{
      {{{2, 3}, {4, 3}}, {{3, 2}, {3, 4}}, {{1, 4}, {1, 4}}, {{3, 3}, {3, 3}}, {{1, 1}, {1, 1}}}};
  static constexpr std::array<double, 2> test_attrs{0.0, 1.0};
};

}  // namespace gradscope::ops
