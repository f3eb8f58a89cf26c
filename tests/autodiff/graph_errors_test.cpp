// The errors users hit recording and differentiating: each names the op, the nodes and their
// shapes, or what else was wrong.
#include <gradscope/autodiff/autodiff.hpp>

#include <catch2/catch.hpp>

using namespace gradscope;
using Catch::Matchers::Contains;

TEST_CASE("shape mismatch names the op, both operands and their shapes", "[autodiff][errors]") {
  Graph<double> g;
  auto a = g.variable(Matrix<double>::Ones(2, 3), "a");
  auto b = g.variable(Matrix<double>::Ones(4, 5), "b");
  for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Matmul, Op::Bce, Op::BceWithLogits, Op::Mse}) {
    const std::string name(op_info(op).name);
    INFO(name);
    CHECK_THROWS_AS(g.apply(op, {a, b}), Error);
    CHECK_THROWS_WITH(g.apply(op, {a, b}),
                      Contains(name + ":") && Contains("'a' is 2x3") && Contains("'b' is 4x5"));
  }
  CHECK_THROWS_WITH(sum(a, 2), Contains("sum:") && Contains("axis"));
}

TEST_CASE("backward errors: non-scalar root, wrong root gradient, nodes of other or cleared graphs",
          "[autodiff][errors]") {
  Graph<double> g, other;
  auto x = g.variable(Matrix<double>::Ones(2, 2), "x");
  auto y = x * 2.0;
  CHECK_THROWS_WITH(g.backward(y), Contains("not 1x1") && Contains("root gradient"));
  CHECK_THROWS_WITH(g.backward(y, Matrix<double>::Ones(3, 1)),
                    Contains("root gradient is 3x1") && Contains("2x2"));
  auto u = other.variable(1.0, "u");
  CHECK_THROWS_WITH(other.backward(x), Contains("another graph"));
  CHECK_THROWS_WITH(x + u, Contains("add:") && Contains("another graph"));
  CHECK_THROWS_WITH(x.grad(), Contains("backward() has not run"));
  g.clear();
  CHECK_THROWS_WITH(g.backward(y), Contains("cleared"));
  CHECK_THROWS_WITH(x.value(), Contains("cleared"));
  CHECK_THROWS_WITH(Var<double>().value(), Contains("empty node handle"));
}

TEST_CASE("empty tensors and parameters are refused", "[autodiff][errors]") {
  Graph<double> g;
  CHECK_THROWS_WITH(g.constant(Matrix<double>(0, 3), "data"), Contains("'data'") && Contains("0x3"));
  CHECK_THROWS_WITH(Parameter<double>(Matrix<double>(2, 0), "w"), Contains("'w'"));
}

TEST_CASE("a graph refuses its 65537th distinct shape, kept across clear()", "[autodiff][errors]") {
  // Shapes in order of increasing size (r x c with r*c = 1, 2, ...), one per recording, so the
  // test needs little memory at a time.
  Graph<float> g;
  std::size_t distinct = 1;  // 1x1 is always in the table
  Matrix<float> m;
  for (std::uint32_t area = 2; distinct < 65536; ++area)
    for (std::uint32_t r = 1; r <= area && distinct < 65536; ++r) {
      if (area % r) continue;
      g.clear();
      m.setZero(r, area / r);
      g.constant(m);
      ++distinct;
    }
  g.clear();
  g.constant(Matrix<float>::Zero(1, 1));  // shapes already seen are still fine
  g.constant(Matrix<float>::Zero(1, 2));
  CHECK_THROWS_WITH(g.constant(Matrix<float>::Zero(1, 100000), "big"),
                    Contains("constant") && Contains("1x100000") && Contains("65536"));
}
