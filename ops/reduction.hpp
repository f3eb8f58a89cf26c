#pragma once
// The categories of ops along an axis: reductions (sum, mean, max), ops on each column or row
// (softmax and its kin) and their reductions to one element per line.
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// Reductions: the attribute is the axis as in NumPy for a matrix, 0 (or -2) down the rows, result
// 1 x cols, and 1 (or -1) across the columns, result rows x 1; or all_axes, every element, result
// 1x1. all_axes is NaN, NumPy's axis=None: no integer axis a caller writes can mean "everything".
struct Reduction : Unary {
  static constexpr bool has_attr = true;
  static constexpr double all_axes = std::numeric_limits<double>::quiet_NaN();
  static constexpr const char* rule =
      "axis must be 0 or -2 (down the rows) or 1 or -1 (across the columns); sum(x) and mean(x) "
      "without an axis reduce over every element";
  enum class Along { All, Rows, Cols, Invalid };
  static Along along(double axis) {
    if (std::isnan(axis)) return Along::All;
    if (axis == 0 || axis == -2) return Along::Rows;
    if (axis == 1 || axis == -1) return Along::Cols;
    return Along::Invalid;
  }
  static Shape shape(Shape a, Shape, double axis) {
    switch (along(axis)) {
      case Along::All: return {1, 1};
      case Along::Rows: return {1, a.cols};
      case Along::Cols: return {a.rows, 1};
      case Along::Invalid: break;
    }
    return {};
  }
  // How many elements go into each output element.
  static double count(Shape a, double axis) {
    const Along d = along(axis);
    return d == Along::All ? double(a.size()) : d == Along::Rows ? double(a.rows) : double(a.cols);
  }
  static constexpr std::array<double, 5> test_attrs{all_axes, 0.0, 1.0, -1.0, -2.0};
};

// Ops along one axis: on each column (axis 0, down the rows) or on each row (axis 1, across the
// columns). Softmax and its kin keep the shape; AxisReduction's reduce each line to one element.
inline constexpr const char* kAxisRule =
    "axis must be 0 (down the rows: each column) or 1 (across the columns: each row)";
struct AlongAxis : Unary {
  static constexpr bool has_attr = true;
  static constexpr const char* rule = kAxisRule;
  static Shape shape(Shape a, Shape, double axis) { return axis == 0 || axis == 1 ? a : Shape{}; }
  static constexpr std::array<double, 2> test_attrs{0.0, 1.0};
};
struct AxisReduction : Reduction {
  static constexpr const char* rule = kAxisRule;
  // Only 0 and 1, which for_each_line walks; not the reductions' other spellings.
  static Shape shape(Shape a, Shape, double axis) {
    return axis == 0 || axis == 1 ? Reduction::shape(a, {}, axis) : Shape{};
  }
  static constexpr std::array<double, 2> test_attrs{0.0, 1.0};
};

// f(line of m, line of more...) for each column j (axis 0) or row i (axis 1) of m: the same
// column or row of every matrix (a reduction's output has one element per line).
template <class F, class M, class... More>
void for_each_line(double axis, F&& f, M& m, More&... more) {
  if (axis == 0)
    for (Eigen::Index j = 0; j < m.cols(); ++j) f(m.col(j), more.col(j)...);
  else
    for (Eigen::Index i = 0; i < m.rows(); ++i) f(m.row(i), more.row(i)...);
}

// The largest element m of a line x and s = Σ exp(x - m), which is at least 1 (the term of m
// itself) and overflows only if x has more elements than the type's largest value:
// ln Σ exp(x) = m + ln s and softmax(x) = exp(x - m) / s without forming exp of a large x. The
// ops use x - m (exact near m) and ln s (at most ln of the line's length), not x - ln Σ exp(x),
// which loses the digits of a small difference of two large numbers.
template <class Line>
std::pair<typename Line::Scalar, typename Line::Scalar> max_and_exp_sum(const Line& x) {
  const auto m = x.maxCoeff();
  return {m, (x.array() - m).exp().sum()};
}

template <class Out, class M>
void reduce_forward(Out& out, const M& a, double axis) {
  switch (Reduction::along(axis)) {
    case Reduction::Along::All: out(0, 0) = a.sum(); break;
    case Reduction::Along::Rows: out = a.colwise().sum(); break;
    default: out = a.rowwise().sum(); break;
  }
}

}  // namespace gradscope::ops
