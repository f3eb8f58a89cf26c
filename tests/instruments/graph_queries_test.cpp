#include <catch2/catch.hpp>
#include <gradscope/autodiff/autodiff.hpp>
#include <gradscope/instruments/graph_queries.hpp>

#include "post_pass.hpp"

using namespace gradscope;

TEST_CASE("reaching: the nodes a loss depends on, not a side branch", "[autodiff][queries]") {
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  auto u = g.variable(5.0, "u");
  auto side = exp(u).named("side");  // does not reach the loss
  auto y = (x * x).named("y");
  auto loss = (y + x).named("loss");  // x used twice: the diamond
  const auto r = reaching(g, loss.index());
  REQUIRE(r.size() == g.size());
  CHECK(r[x.index()]);
  CHECK(r[y.index()]);
  CHECK(r[loss.index()]);
  CHECK_FALSE(r[u.index()]);
  CHECK_FALSE(r[side.index()]);
  const auto from_side = reaching(g, side.index());
  CHECK(from_side[u.index()]);
  CHECK_FALSE(from_side[x.index()]);
  CHECK_THROWS_AS(reaching(g, 99), Error);
}

TEST_CASE("depth from the inputs: 3l + 1 for layer l's activation in the post's network",
          "[autodiff][queries]") {
  test::PostPass s(10, models::Activation::Sigmoid);
  const Graph<double>& g = s.g;
  const auto depth = depth_from_inputs(g);
  REQUIRE(depth.size() == g.size());
  int layers_seen = 0;
  for (std::uint32_t i = 0; i < g.size(); ++i) {
    const auto v = g.node(i);
    INFO(v.name());
    if (is_leaf(v.op())) CHECK(depth[i] == 0);
    for (int l = 1; l <= 10; ++l)
      if (v.name() == fmt::format("layer{}/a", l)) {
        CHECK(depth[i] == std::uint32_t(3 * l + 1));
        ++layers_seen;
      }
  }
  CHECK(layers_seen == 10);
  // The loss is computed from the output's logits z (depth 30), not from its activation.
  CHECK(depth[s.loss.index()] == 3 * 10 + 1);
}

TEST_CASE("creation order is a topological order, also after clear() and re-recording",
          "[autodiff][queries]") {
  test::PostPass s(4, models::Activation::Relu);
  Graph<double>& g = s.g;
  CHECK(is_topologically_ordered(g));
  g.clear();
  auto x = g.variable(1.5, "x");
  auto y = x * x + exp(x) * x;
  CHECK(is_topologically_ordered(g));
  CHECK(reaching(g, y.index())[x.index()]);
}
