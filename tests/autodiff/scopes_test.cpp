// Name scopes: nodes named by the scopes around them, names and scopes beside the nodes (renaming,
// labels_into), scope ids, invalid names.
#include <fmt/format.h>
#include <gradscope/autodiff/autodiff.hpp>

#include <catch2/catch.hpp>
#include <cstdint>

using namespace gradscope;

TEST_CASE("scopes name nodes, nest and are restored when the guard ends", "[scopes]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  Var<double> z, w, bare;
  std::uint32_t inner_id = 0;
  {
    auto block = g.scope("block1");
    {
      auto layer = g.scope("layer3");
      z = (x * 2.0).named("z");
      bare = x * 3.0;  // unnamed: op#index inside the scope
      inner_id = g.node(z).scope_id();
    }
    w = (x * 4.0).named("w");
  }
  auto top = (x * 5.0).named("top");
  CHECK(z.name() == "block1/layer3/z");
  CHECK(g.node(z).scope() == "block1/layer3");
  CHECK(g.node(z).local_name() == "z");
  CHECK(bare.name() == fmt::format("block1/layer3/scale#{}", bare.index()));
  CHECK(g.node(bare).local_name().empty());
  CHECK(w.name() == "block1/w");
  CHECK(top.name() == "top");
  CHECK(g.node(top).scope().empty());
  CHECK(g.scope_path(inner_id) == "block1/layer3");

  // Re-entering the same path (every training iteration does) reuses the scope id.
  {
    auto block = g.scope("block1");
    auto layer = g.scope("layer3");
    auto again = x * 6.0;
    CHECK(g.node(again).scope_id() == inner_id);
  }
  // A same-named scope under another parent is a different scope.
  {
    auto block = g.scope("block2");
    auto layer = g.scope("layer3");
    auto other = x * 7.0;
    CHECK(g.node(other).scope() == "block2/layer3");
    CHECK(g.node(other).scope_id() != inner_id);
  }
  // Scopes (and their ids) survive clear(), so a monitor keyed on scope ids stays valid.
  const auto scopes = g.scope_count();
  g.clear();
  {
    auto block = g.scope("block1");
    auto layer = g.scope("layer3");
    auto x2 = g.variable(1.0, "x");
    CHECK(g.node(x2).scope_id() == inner_id);
  }
  CHECK(g.scope_count() == scopes);
}

TEST_CASE("names and scopes", "[scopes]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  Var<double> z;
  {
    auto block = g.scope("block1");
    auto layer = g.scope("layer3");
    z = (x * 2.0).named("z");
  }
  auto y = x + 1.0;
  CHECK(x.name() == "x");
  CHECK(z.name() == "block1/layer3/z");
  CHECK(g.node(z).scope() == "block1/layer3");
  CHECK(y.name() == fmt::format("add#{}", y.index()));
}

TEST_CASE("names, scopes and shapes live beside the nodes and survive renaming", "[scopes]") {
  Graph<double> g;
  auto x = g.variable(Matrix<double>::Ones(2, 3), "x");
  auto one = g.constant(1.0);
  Var<double> a, c;
  {
    auto layer = g.scope("layer1");
    a = x * 2.0;
  }
  auto b = a + one;
  {
    auto layer = g.scope("layer1");
    c = sum(b, 0);
  }
  a.named("a");  // named after later nodes were recorded
  CHECK(x.name() == "x");
  CHECK(g.node(one).local_name().empty());
  CHECK(a.name() == "layer1/a");
  CHECK(b.name() == fmt::format("add#{}", b.index()));
  CHECK(c.name() == fmt::format("layer1/sum#{}", c.index()));
  CHECK(g.node(c).scope_id() == g.node(a).scope_id());
  CHECK(g.node(b).scope().empty());
  a.named("");
  CHECK(a.name() == fmt::format("layer1/scale#{}", a.index()));
  CHECK(x.shape() == Shape{2, 3});
  CHECK(one.shape() == Shape{1, 1});
  CHECK(c.shape() == Shape{1, 3});
}

TEST_CASE("labels_into gives every node the scope and local name its NodeView looks up",
          "[scopes]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  Var<double> p, q;
  {
    auto block = g.scope("block1");
    { auto empty = g.scope("unused"); }  // a scope without nodes
    auto layer = g.scope("layer3");
    p = (x * 2.0).named("z");
    q = exp(p);
  }
  auto r = (q + x).named("r");
  p.named("");  // renamed after later nodes: the name side table changes in the middle
  x.named("input");
  {
    auto block = g.scope("block1");
    r = r * 3.0;
  }
  std::vector<NodeLabel> labels{{7, "stale"}};
  g.labels_into(labels);
  REQUIRE(labels.size() == g.size());
  for (std::uint32_t i = 0; i < g.size(); ++i) {
    CAPTURE(i);
    CHECK(labels[i].scope == g.node(i).scope_id());
    CHECK(labels[i].local == g.node(i).local_name());
  }
  CHECK(labels[x.index()].local == "input");
  CHECK(labels[p.index()].local.empty());
  CHECK(g.scope_path(labels[q.index()].scope) == "block1/layer3");
  CHECK(g.scope_path(labels[r.index()].scope) == "block1");
}

TEST_CASE("scope names must be non-empty and contain no '/'", "[scopes][errors]") {
  Graph<double> g;
  CHECK_THROWS_WITH(g.scope(""), Catch::Contains("must be non-empty"));
  CHECK_THROWS_WITH(g.scope("a/b"), Catch::Contains("'a/b'"));
}
