#include <gradscope/autodiff/autodiff.hpp>

#include <catch2/catch.hpp>

using namespace gradscope;

TEST_CASE("x*x has gradient 2x", "[autodiff]") {
  Graph<double> g;
  auto x = g.variable(3.0, "x");
  auto y = x * x;
  g.backward(y);
  CHECK(y.item() == 9.0);
  CHECK(x.grad()(0, 0) == 6.0);
}
