// Hooks registered on a Parameter: kept across clear(), run on every pass that records it.
#include <gradscope/autodiff/autodiff.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

using namespace gradscope;

#if GRADSCOPE_HOOKS

namespace {

// One training step's recording: loss = sum(w * w * 3), so dloss/dw = 6w.
Var<double> record_step(Graph<double>& g, Parameter<double>& w) {
  auto wn = g.param(w);
  return sum(wn * wn * 3.0);
}

}  // namespace

TEST_CASE("a parameter's hook runs on each of N passes after clear() until removed",
          "[hooks][parameter]") {
  Graph<double> g;
  Parameter<double> w(Matrix<double>::Constant(2, 1, 0.5), "w");
  std::vector<double> seen;
  const auto handle =
      g.register_hook(w, [&](MatrixMap<double> grad) { seen.push_back(grad(1, 0)); });
  CHECK(g.has_hooks());
  for (int step = 0; step < 5; ++step) {
    g.clear();
    w.value().setConstant(0.5 + step);
    g.backward(record_step(g, w));
  }
  REQUIRE(seen.size() == 5);
  for (int step = 0; step < 5; ++step) CHECK(seen[std::size_t(step)] == 6.0 * (0.5 + step));
  g.remove(handle);
  CHECK_FALSE(g.has_hooks());
  g.clear();
  g.backward(record_step(g, w));
  CHECK(seen.size() == 5);
  // A pass that does not record w does not call it either.
  const auto again = g.register_hook(w, [&](MatrixMap<double> grad) { seen.push_back(grad(0, 0)); });
  g.clear();
  auto x = g.variable(2.0, "x");
  g.backward(x * x);
  CHECK(seen.size() == 5);
  g.remove(again);
}

TEST_CASE("a parameter hook's replacement is what the parameter's gradient accumulates",
          "[hooks][parameter]") {
  Graph<double> g;
  Parameter<double> w(Matrix<double>::Constant(2, 1, 0.5), "w");  // dloss/dw = 6 * 0.5 = 3
  int order = 0, param_hook_at = 0, node_hook_at = 0;
  g.register_hook(w, [&](MatrixMap<double> grad) {
    param_hook_at = ++order;
    grad *= 10.0;
  });
  for (int step = 0; step < 3; ++step) {
    g.clear();
    auto loss = record_step(g, w);
    w.zero_grad();
    g.backward(loss);
    CHECK(w.grad()(0, 0) == 30.0);
    CHECK(w.grad()(1, 0) == 30.0);
  }
  // Without zero_grad the replaced gradients add up; the node's own hook runs after it.
  g.clear();
  auto wn = g.param(w);
  g.register_hook(wn, [&](MatrixMap<double> grad) {
    node_hook_at = ++order;
    grad += Matrix<double>::Ones(2, 1);
  });
  g.backward(sum(wn * wn * 3.0));
  CHECK(param_hook_at < node_hook_at);
  CHECK(w.grad()(0, 0) == 30.0 + 31.0);
}

TEST_CASE("a parameter hook runs only in the graph it was registered with, on each of its nodes",
          "[hooks][parameter]") {
  Graph<double> g1, g2;
  Parameter<double> w(Matrix<double>::Constant(1, 1, 1.0), "w");
  int calls1 = 0, calls2 = 0;
  g1.register_hook(w, [&](MatrixMap<double>) { ++calls1; });
  const auto h2 = g2.register_hook(w, [&](MatrixMap<double> grad) {
    ++calls2;
    grad.setZero();
  });
  g1.backward(record_step(g1, w));
  CHECK(calls1 == 1);
  CHECK(calls2 == 0);
  w.zero_grad();
  g2.backward(g2.param(w) * g2.param(w));  // w recorded twice: the hook runs on both nodes
  CHECK(calls1 == 1);
  CHECK(calls2 == 2);
  CHECK(w.grad()(0, 0) == 0.0);
  g2.remove(h2);
  g2.clear();
  g2.backward(record_step(g2, w));
  CHECK(calls2 == 2);
}

TEST_CASE("a parameter hook may remove itself during backward, and a destroyed parameter's never runs",
          "[hooks][parameter]") {
  Graph<double> g;
  Parameter<double> w(Matrix<double>::Constant(1, 1, 1.0), "w");
  int calls = 0;
  HookHandle self;
  self = g.register_hook(w, [&](MatrixMap<double>) {
    ++calls;
    g.remove(self);
  });
  g.backward(record_step(g, w));
  g.clear();
  g.backward(record_step(g, w));
  CHECK(calls == 1);

  // The hook is keyed on the parameter's identity, not its address: a parameter built where a
  // destroyed one lived does not inherit its hooks.
  int stale_calls = 0;
  auto first = std::make_unique<Parameter<double>>(Matrix<double>::Ones(1, 1), "first");
  g.register_hook(*first, [&](MatrixMap<double>) { ++stale_calls; });
  g.clear();
  g.backward(record_step(g, *first));
  CHECK(stale_calls == 1);
  first.reset();
  auto second = std::make_unique<Parameter<double>>(Matrix<double>::Ones(1, 1), "second");
  g.clear();
  g.backward(record_step(g, *second));
  CHECK(stale_calls == 1);

  // Moving a Parameter keeps its hooks with it.
  Parameter<double> moved = std::move(*second);
  int moved_calls = 0;
  g.register_hook(moved, [&](MatrixMap<double>) { ++moved_calls; });
  g.clear();
  g.backward(record_step(g, moved));
  CHECK(moved_calls == 1);
  CHECK_THROWS_WITH(g.register_hook(*second, [](MatrixMap<double>) {}),
                    Catch::Contains("register_hook: the Parameter was moved from"));
}

TEST_CASE("register_hook on a parameter rejects empty hooks and registration during backward",
          "[hooks][parameter][errors]") {
  Graph<double> g;
  Parameter<double> w(Matrix<double>::Constant(1, 1, 1.0), "w");
  CHECK_THROWS_WITH(g.register_hook(w, Graph<double>::Hook{}),
                    Catch::Contains("register_hook: empty hook for parameter 'w'"));
  auto x = g.variable(1.0, "x");
  g.register_hook(x, [&](MatrixMap<double>) { g.register_hook(w, [](MatrixMap<double>) {}); });
  CHECK_THROWS_WITH(g.backward(x * x),
                    Catch::Contains("called during backward (from a hook or observer) for "
                                    "parameter 'w'"));
}

#endif
