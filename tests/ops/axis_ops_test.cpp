// The ops along an axis, slicing, concatenation and cross-entropy: forward values known in closed
// form (the generic checker compares each backward with its own forward only), stability for
// large inputs, and the errors their operands can cause. Values are copied out of the graph
// before the next op is recorded, which may move the arena a value map points into.
#include <catch2/catch.hpp>
#include <cmath>
#include <gradscope/autodiff/autodiff.hpp>

using namespace gradscope;
using Catch::Matchers::Contains;

namespace {
Matrix<double> rows_of(std::initializer_list<std::initializer_list<double>> rows) {
  Matrix<double> m(rows.size(), rows.begin()->size());
  Eigen::Index i = 0;
  for (const auto& r : rows) {
    Eigen::Index j = 0;
    for (double x : r) m(i, j++) = x;
    ++i;
  }
  return m;
}
}  // namespace

TEST_CASE("softmax, log_softmax and logsumexp of [1000, 1001] are finite and exact",
          "[ops][axis]") {
  // softmax = [1, e] / (1 + e); logsumexp = 1001 + ln(1 + 1/e)
  const double p0 = 1 / (1 + std::exp(1.0)), p1 = 1 - p0, lse = 1001 + std::log1p(std::exp(-1.0));
  Graph<double> g;
  const auto row = g.variable(rows_of({{1000, 1001}}), "row");
  const auto col = g.variable(rows_of({{1000}, {1001}}), "col");
  for (auto [x, axis] : {std::pair{row, 1}, std::pair{col, 0}}) {
    INFO("axis " << axis);
    const Matrix<double> p = softmax(x, axis).value(), lp = log_softmax(x, axis).value();
    CHECK(p(0) == Approx(p0).epsilon(1e-15));
    CHECK(p(1) == Approx(p1).epsilon(1e-15));
    CHECK(lp(0) == Approx(std::log(p0)).epsilon(1e-15));
    CHECK(lp(1) == Approx(std::log(p1)).epsilon(1e-15));
    CHECK(logsumexp(x, axis).item() == Approx(lse).epsilon(1e-15));
  }
  // Also in float, where exp(89) already overflows.
  Graph<float> gf;
  const auto xf = gf.variable(Matrix<float>(rows_of({{1000, 1001}}).cast<float>()), "x");
  CHECK(softmax(xf, 1).value()(1) == Approx(p1).epsilon(1e-6));
  CHECK(logsumexp(xf, 1).item() == Approx(lse).epsilon(1e-6));
  // A line of very negative numbers does not underflow to ln 0.
  const auto low = g.variable(rows_of({{-1000, -1001}}), "low");
  CHECK(log_softmax(low, 1).value()(1) == Approx(std::log(p0)).epsilon(1e-15));
}

TEST_CASE("max, logsumexp and softmax work on each column (axis 0) or each row (axis 1)",
          "[ops][axis]") {
  Graph<double> g;
  const auto x = g.variable(rows_of({{1, 5, 2}, {4, 3, 6}}), "x");
  CHECK(max(x, 0).value() == rows_of({{4, 5, 6}}));
  CHECK(max(x, 1).value() == rows_of({{5}, {6}}));
  const Matrix<double> l0 = logsumexp(x, 0).value();
  CHECK(l0.rows() == 1);
  CHECK(l0(2) == Approx(std::log(std::exp(2.0) + std::exp(6.0))));
  const Matrix<double> l1 = logsumexp(x, 1).value();
  CHECK(l1.cols() == 1);
  CHECK(l1(0) == Approx(std::log(std::exp(1.0) + std::exp(5.0) + std::exp(2.0))));
  CHECK(softmax(x, 0).value().colwise().sum().isApprox(Matrix<double>::Ones(1, 3)));
  CHECK(softmax(x, 1).value().rowwise().sum().isApprox(Matrix<double>::Ones(2, 1)));
  // max sends the gradient to the largest element of each line only
  const auto m = sum(max(x, 1));
  g.backward(m);
  CHECK(Matrix<double>(x.grad()) == rows_of({{0, 1, 0}, {0, 0, 1}}));
}

TEST_CASE("slice takes a contiguous range of rows or columns, concat joins along an axis",
          "[ops][axis]") {
  Graph<double> g;
  const auto x = g.variable(rows_of({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {10, 11, 12}}), "x");
  CHECK(slice(x, 0, 1, 2).value() == rows_of({{4, 5, 6}, {7, 8, 9}}));
  CHECK(slice(x, 1, 2, 1).value() == rows_of({{3}, {6}, {9}, {12}}));
  const Matrix<double> whole = x.value();
  CHECK(slice(x, 0, 0, 4).value() == whole);
  const auto a = g.variable(rows_of({{1, 2}}), "a"), b = g.variable(rows_of({{3, 4}, {5, 6}}), "b");
  CHECK(concat(a, b, 0).value() == rows_of({{1, 2}, {3, 4}, {5, 6}}));
  const auto c = g.variable(rows_of({{7}, {8}}), "c");
  CHECK(concat(b, c, 1).value() == rows_of({{3, 4, 7}, {5, 6, 8}}));
  // Slicing a concatenation gives the operands back.
  CHECK(slice(concat(b, c, 1), 1, 2, 1).value() == rows_of({{7}, {8}}));
}

TEST_CASE("cross_entropy is the mean of -ln p of each sample's class, with gradient (p - y) / n",
          "[ops][axis]") {
  Graph<double> g;
  const auto z = g.variable(rows_of({{2, -1, 0.5, 0}, {0, 3, 0.5, 0}, {-1, 0, 0.5, 1000}}), "z");
  const auto y = g.constant(rows_of({{0, 1, 2, 2}}), "y");
  const auto loss = cross_entropy(z, y);
  g.backward(loss);
  const Matrix<double> p = softmax(z, 0).value();
  Matrix<double> onehot = Matrix<double>::Zero(3, 4);
  double expected = 0;
  for (int j = 0; j < 4; ++j) {
    const auto k = Eigen::Index(y.value()(j));
    onehot(k, j) = 1;
    expected -= std::log(p(k, j)) / 4;
  }
  CHECK(std::isfinite(loss.item()));
  CHECK(loss.item() == Approx(expected).epsilon(1e-14));
  CHECK(z.grad().isApprox((p - onehot) / 4, 1e-14));
}

// The gradient checker records labels as a constant; a variable's slot is the kernel's to zero
// when cross_entropy is its first consumer (stores_first), and to leave alone after another.
TEST_CASE("cross_entropy gives labels recorded as a variable a zero gradient", "[ops][axis]") {
  Graph<double> g;
  const auto z = g.variable(rows_of({{2, -1}, {0, 3}}), "z");
  const auto y = g.variable(rows_of({{0, 1}}), "y");
  const auto loss = cross_entropy(z, y);
  const auto both = loss + sum(y);
  g.backward(sum(y * 3.0));  // leaves 3 in y's slot
  g.backward(loss);
  CHECK(y.grad() == Matrix<double>::Zero(1, 2));
  g.backward(both);
  CHECK(y.grad() == Matrix<double>::Ones(1, 2));
}

TEST_CASE("errors of the axis ops, slice, concat and cross_entropy name the op and the shapes",
          "[ops][axis][errors]") {
  Graph<double> g;
  const auto x = g.variable(Matrix<double>::Ones(3, 4), "x");
  for (Op op : {Op::Softmax, Op::LogSoftmax, Op::Max, Op::Logsumexp}) {
    const std::string name(op_info(op).name);
    INFO(name);
    for (double axis : {-1.0, 2.0, 0.5})
      CHECK_THROWS_WITH(g.apply(op, {x}, axis), Contains(name + ": 'x' is 3x4") &&
                                                    Contains("axis must be 0") &&
                                                    Contains(fmt::format("attribute {}", axis)));
  }
  // A label outside [0, classes), or not a whole number: the labels' node, the label and the
  // logits' shape.
  const auto bad = g.constant(rows_of({{0, 2, 3, 1}}), "labels");
  CHECK_THROWS_WITH(cross_entropy(x, bad),
                    Contains("cross_entropy at ") && Contains("axis_ops_test.cpp:") &&
                        Contains("input 1 'labels' (1x4) holds values in [0, 3]") &&
                        Contains("0 to classes - 1; element (0,2) of 'labels' is 3, where 'x' is 3x4"));
  const auto half = g.constant(rows_of({{0, 0.5, 1, 1}}), "half");
  CHECK_THROWS_WITH(cross_entropy(x, half), Contains("element (0,1) of 'half' is 0.5"));
  const auto negative = g.constant(rows_of({{0, 1, 1, -1}}), "negative");
  CHECK_THROWS_WITH(cross_entropy(x, negative), Contains("element (0,3) of 'negative' is -1"));
  const auto too_few = g.constant(rows_of({{0, 1, 1}}), "too_few");
  CHECK_THROWS_WITH(cross_entropy(x, too_few),
                    Contains("cross_entropy: 'x' is 3x4, 'too_few' is 1x3 (logits are classes"));
  // Slice out of range: past the end, negative, not whole; bad axis or length.
  CHECK_THROWS_WITH(slice(x, 0, 2, 2),
                    Contains("slice: 'x' is 3x4, 'slice_shape' is 2x4, attribute 2 (the slice"));
  CHECK_THROWS_WITH(slice(x, 1, -1, 2),
                    Contains("slice: 'x' is 3x4, 'slice_shape' is 3x2, attribute -1"));
  CHECK_THROWS_WITH(slice(x, 1, 0, 5), Contains("slice: 'x' is 3x4, 'slice_shape' is 3x5"));
  CHECK_THROWS_WITH(g.apply(Op::Slice, {x, g.constant(Matrix<double>::Ones(2, 4), "like")}, 0.5),
                    Contains("slice: 'x' is 3x4, 'like' is 2x4, attribute 0.5"));
  CHECK_THROWS_WITH(g.apply(Op::Slice, {x, g.constant(Matrix<double>::Ones(2, 2), "like2")}, 0),
                    Contains("slice: 'x' is 3x4, 'like2' is 2x2"));
  CHECK_THROWS_WITH(slice(x, 2, 0, 1), Contains("slice: axis 2, length 1 for 'x' (3x4)"));
  CHECK_THROWS_WITH(slice(x, 0, 0, 0), Contains("slice: axis 0, length 0 for 'x' (3x4)"));
  // Concat: the other dimension must agree; the axis must be 0 or 1.
  const auto y = g.variable(Matrix<double>::Ones(2, 5), "y");
  CHECK_THROWS_WITH(concat(x, y, 0), Contains("concat: 'x' is 3x4, 'y' is 2x5, attribute 0") &&
                                         Contains("equal column counts"));
  CHECK_THROWS_WITH(concat(x, y, 1), Contains("concat: 'x' is 3x4, 'y' is 2x5, attribute 1"));
  CHECK_THROWS_WITH(concat(x, x, 2), Contains("concat: 'x' is 3x4, 'x' is 3x4, attribute 2"));
  // Nothing was recorded by the failed calls beyond their leaves.
  CHECK(g.size() == 11);  // x, 4 label sets, 3 slice shapes, like, like2, y
}
