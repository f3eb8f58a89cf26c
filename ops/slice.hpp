#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = a contiguous block of a: rows start .. start + r - 1 (all columns) or columns
// start .. start + c - 1 (all rows), where r x c is the shape of the second operand `like` and
// start is the attribute. A record holds one attribute, and a slice needs an axis, a start and a
// length: the axis and length are read off like's shape (a row slice keeps a's columns, a column
// slice its rows; when like has a's shape both readings are the whole of a), so the engine's
// record needs no second attribute. like's values are not read and get no gradient.
struct Slice : Rearrangement {
  static constexpr bool stores_first = true, no_grad_b = true;
  static constexpr const char* rule =
      "the slice has the second operand's shape: rows [start, start + rows) of the first with its "
      "columns, or columns [start, start + cols) with its rows; start (the attribute) a whole "
      "number that keeps the slice inside the first";
  static bool by_rows(std::size_t a_cols, std::size_t like_cols) { return like_cols == a_cols; }
  static Shape shape(Shape a, Shape like, double start) {
    const bool rows = by_rows(a.cols, like.cols);
    if (!rows && like.rows != a.rows) return {};
    const double room = rows ? double(a.rows) - like.rows : double(a.cols) - like.cols;
    return whole_below(start, room + 1) ? like : Shape{};
  }
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    const auto start = Eigen::Index(f.attr);
    if (by_rows(f.a.cols(), f.out.cols()))
      f.out = f.a.middleRows(start, f.out.rows());
    else
      f.out = f.a.middleCols(start, f.out.cols());
  }
  // d/da = g inside the slice, 0 elsewhere (written too where the slot is fresh); d/dlike = 0
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    if (!wants(b.ga)) return;
    auto window = [&](auto&& before, auto&& inside, auto&& after) {
      if (b.store_a) {
        before.setZero();
        after.setZero();
      }
      put(inside, b.gout, b.store_a);
    };
    const auto start = Eigen::Index(b.attr);
    if (by_rows(b.a.cols(), b.out.cols())) {
      const auto n = b.out.rows(), rest = b.a.rows() - start - n;
      window(b.ga.topRows(start), b.ga.middleRows(start, n), b.ga.bottomRows(rest));
    } else {
      const auto n = b.out.cols(), rest = b.a.cols() - start - n;
      window(b.ga.leftCols(start), b.ga.middleCols(start, n), b.ga.rightCols(rest));
    }
  }
  static constexpr std::array<ShapePair, 6> test_shapes{{{{5, 3}, {2, 3}},
                                                         {{3, 5}, {3, 2}},
                                                         {{6, 1}, {1, 1}},
                                                         {{1, 6}, {1, 4}},
                                                         {{4, 4}, {4, 4}},
                                                         {{1, 1}, {1, 1}}}};
  static constexpr std::array<double, 3> test_attrs{0.0, 1.0, 3.0};
};

}  // namespace gradscope::ops
