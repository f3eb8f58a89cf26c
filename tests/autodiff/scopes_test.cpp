// Name scopes: nodes named by the scopes around them, scope ids, invalid names.
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

TEST_CASE("scope names must be non-empty and contain no '/'", "[scopes][errors]") {
  Graph<double> g;
  CHECK_THROWS_WITH(g.scope(""), Catch::Contains("must be non-empty"));
  CHECK_THROWS_WITH(g.scope("a/b"), Catch::Contains("'a/b'"));
}
