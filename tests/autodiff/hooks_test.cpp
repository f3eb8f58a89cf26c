// Per-node hooks and graph-wide observers. Name scopes: scopes_test.cpp.
#include <gradscope/autodiff/autodiff.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

using namespace gradscope;

namespace {

// Records what it sees, in order, so tests can check which nodes were visited and with what.
struct Recorder : Observer<double> {
  std::vector<std::string> events;
  std::vector<double> first_grad;
  void on_backward_begin(const Graph<double>&) override { events.push_back("begin"); }
  void on_node(const NodeView<double>& n) override {
    events.push_back(n.name());
    first_grad.push_back(n.grad()(0, 0));
  }
  void on_backward_end(const Graph<double>&) override { events.push_back("end"); }
  void on_backward_abort(const Graph<double>&) override { events.push_back("abort"); }
};

}  // namespace

#if GRADSCOPE_HOOKS

TEST_CASE("a hook's replacement gradient is what flows to the node's inputs", "[hooks]") {
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  auto h = (x * 3.0).named("h");  // dh/dx = 3
  auto y = h * h;                 // dy/dh = 2h = 12
  double seen = 0;
  g.register_hook(h, [&](MatrixMap<double> grad) {
    seen = grad(0, 0);
    grad(0, 0) = 10.0;
  });
  g.backward(y);
  CHECK(seen == 12.0);
  CHECK(h.grad()(0, 0) == 10.0);  // the node keeps the replacement
  CHECK(x.grad()(0, 0) == 30.0);  // 3 * 10, not 3 * 12
}

TEST_CASE("a hook changes its node's gradient only, where the node's consumer is a sum", "[hooks]") {
  // Without hooks p = W x would share z's gradient slot (graph_test.cpp); a hook on p must not
  // change z's.
  Graph<double> g;
  const Matrix<double> m = Matrix<double>::Random(2, 3), xv = Matrix<double>::Random(2, 3);
  auto w = g.variable(Matrix<double>::Identity(2, 2), "w");
  auto p = matmul(w, g.constant(xv, "x"));
  auto z = p + g.constant(Matrix<double>::Ones(2, 3), "b");
  g.register_hook(p, [](MatrixMap<double> grad) { grad *= 2.0; });
  g.backward(sum(z * g.constant(m, "m")));
  CHECK((z.grad() - m).cwiseAbs().maxCoeff() == 0.0);
  CHECK((p.grad() - 2 * m).cwiseAbs().maxCoeff() == 0.0);
  CHECK((w.grad() - 2 * m * xv.transpose()).cwiseAbs().maxCoeff() < 1e-14);
}

TEST_CASE("a hook sees the final gradient, summed over all consumers", "[hooks]") {
  Graph<double> g;
  auto x = g.variable(1.5, "x");
  auto h = exp(x).named("h");
  auto y = h * 2.0 + h * h;  // dy/dh = 2 + 2h, h used twice
  double seen = 0;
  g.register_hook(h, [&](MatrixMap<double> grad) { seen = grad(0, 0); });
  g.backward(y);
  CHECK(seen == Approx(2.0 + 2.0 * std::exp(1.5)).epsilon(1e-15));
}

TEST_CASE("a hook on a parameter node changes what Parameter::grad accumulates", "[hooks]") {
  Graph<double> g;
  Parameter<double> w(Matrix<double>::Constant(2, 1, 0.5), "w");
  auto wn = g.param(w);
  auto loss = sum(wn * wn);  // dloss/dw = 2w = 1
  g.register_hook(wn, [](MatrixMap<double> grad) { grad *= 4.0; });
  g.backward(loss);
  CHECK(w.grad()(0, 0) == 4.0);
  CHECK(w.grad()(1, 0) == 4.0);
}

TEST_CASE("removed hooks no longer run, removing twice or an unknown handle is harmless",
          "[hooks]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  auto y = x * x;
  int calls = 0;
  const auto handle = g.register_hook(x, [&](MatrixMap<double>) { ++calls; });
  g.backward(y);
  CHECK(calls == 1);
  g.remove(handle);
  g.backward(y);
  CHECK(calls == 1);
  g.remove(handle);
  g.remove(HookHandle{9999});
  g.backward(y);
  CHECK(calls == 1);
  CHECK(x.grad()(0, 0) == 2.0);
}

TEST_CASE("a backward stopped by a throwing hook leaves the next backward exact", "[hooks]") {
  // y = 3x + x²: when the hook on x² throws, the sweep has already reached 3x (y's backward
  // marked it) but not passed it; the next pass must still start 3x's gradient at zero.
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  auto a = x * 3.0;
  auto b = x * x;
  auto y = a + b;
  const auto handle = g.register_hook(b, [](MatrixMap<double>) { fail("hook refuses"); });
  CHECK_THROWS_WITH(g.backward(y), Catch::Matchers::Contains("hook refuses"));
  g.remove(handle);
  g.backward(y);
  CHECK(g.node(a).grad()(0, 0) == 1.0);
  CHECK(x.grad()(0, 0) == 3.0 + 2 * 2.0);
}

TEST_CASE("after a pass stopped by a hook, gradients it did not reach are Errors, not stale",
          "[hooks][errors]") {
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  auto h = (x * 3.0).named("h");
  auto y = (h * h).named("y");
  g.backward(y);
  REQUIRE(x.grad()(0, 0) == 36.0);  // what a stale read would return
  g.register_hook(h, [](MatrixMap<double>) { fail("hook refuses"); });
  CHECK_THROWS_WITH(g.backward(y), Catch::Matchers::Contains("hook refuses"));
  CHECK_FALSE(g.node(x).has_grad());
  CHECK_FALSE(g.node(h).has_grad());  // its hooks did not finish
  CHECK_THROWS_WITH(x.grad(), Catch::Matchers::Contains(
                                  "gradient of 'x': the last backward() stopped with an Error "
                                  "before it reached this node"));
  // The root's gradient was final before the hook ran, and stays readable.
  CHECK(g.node(y).has_grad());
  CHECK(y.grad()(0, 0) == 1.0);
}

TEST_CASE("a hook reads the gradients backward has finished and no others", "[hooks][errors]") {
  // y = h * h, h = 3x, and a node after y that the root does not depend on.
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  auto h = (x * 3.0).named("h");
  auto y = (h * h).named("y");
  auto later = (x * 5.0).named("later");
  int calls = 0;
  g.register_hook(h, [&](MatrixMap<double> grad) {
    ++calls;
    CHECK(grad(0, 0) == 12.0);
    CHECK(g.node(h).grad()(0, 0) == 12.0);
    CHECK(y.grad()(0, 0) == 1.0);
    CHECK(later.grad()(0, 0) == 0.0);
    // x's slot holds nothing of this pass yet (on the first pass, nothing written at all).
    CHECK_FALSE(g.node(x).has_grad());
    CHECK_THROWS_WITH(x.grad(), Catch::Matchers::Contains(
                                    "gradient of 'x': backward has not reached it yet in this "
                                    "pass"));
  });
  g.backward(y);  // the first pass: the arena's gradient slots are uninitialised before it
  g.backward(y);  // the second: x's slot holds the first pass's gradient
  CHECK(calls == 2);
  CHECK(x.grad()(0, 0) == 36.0);
}

TEST_CASE("hooks on one node run in registration order, nodes in reverse creation order",
          "[hooks]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  auto a = (x * 2.0).named("a");
  auto b = (a * 3.0).named("b");
  std::vector<std::string> order;
  // Registered out of creation order on purpose: backward still reaches b before a.
  g.register_hook(a, [&](MatrixMap<double> grad) {
    order.push_back(fmt::format("a1:{}", grad(0, 0)));
    grad(0, 0) += 1.0;
  });
  g.register_hook(b, [&](MatrixMap<double>) { order.push_back("b"); });
  g.register_hook(a, [&](MatrixMap<double> grad) {
    order.push_back(fmt::format("a2:{}", grad(0, 0)));  // sees a1's change
  });
  g.backward(b);
  CHECK(order == std::vector<std::string>{"b", "a1:3", "a2:4"});
  CHECK(x.grad()(0, 0) == 8.0);  // 2 * (3 + 1)
}

TEST_CASE("observers see every node with a gradient after its hooks, in reverse creation order",
          "[hooks]") {
  Graph<double> g;
  Recorder rec;
  g.add_observer(rec);
  auto x = g.variable(2.0, "x");
  auto c = g.constant(5.0, "c");           // needs no gradient: not visited
  auto unused = (x * 7.0).named("unused");  // the root does not depend on it: not visited
  auto y = (x * c).named("y");
  g.register_hook(y, [](MatrixMap<double> grad) { grad(0, 0) = 0.5; });
  g.backward(y);
  CHECK(rec.events == std::vector<std::string>{"begin", "y", "x", "end"});
  CHECK(rec.first_grad == std::vector<double>{0.5, 2.5});  // y's replaced gradient, then 0.5 * c
  CHECK(unused.grad()(0, 0) == 0.0);
}

TEST_CASE("a pass stopped by an Error ends with on_backward_abort instead of on_backward_end",
          "[hooks][errors]") {
  Graph<double> g;
  Recorder rec;
  g.add_observer(rec);
  auto x = g.variable(2.0, "x");
  auto h = (x * 3.0).named("h");
  auto y = (h * 2.0).named("y");
  g.register_hook(h, [](MatrixMap<double>) { fail("hook refuses"); });
  CHECK_THROWS_WITH(g.backward(y), Catch::Matchers::Contains("hook refuses"));
  CHECK(rec.events == std::vector<std::string>{"begin", "y", "abort"});
}

TEST_CASE("observers run in the order they were added and can be removed", "[hooks]") {
  Graph<double> g;
  std::vector<int> order;
  struct Tagged : Observer<double> {
    std::vector<int>* order;
    int tag;
    Tagged(std::vector<int>* o, int t) : order(o), tag(t) {}
    void on_node(const NodeView<double>&) override { order->push_back(tag); }
  } first(&order, 1), second(&order, 2);
  g.add_observer(first);
  const auto h2 = g.add_observer(second);
  auto x = g.variable(1.0, "x");
  g.backward(x * x);
  CHECK(order == std::vector<int>{1, 2, 1, 2});
  order.clear();
  g.remove(h2);
  g.backward(x * x);
  CHECK(order == std::vector<int>{1, 1});
}

TEST_CASE("clear() drops hooks with their nodes but keeps observers", "[hooks]") {
  Graph<double> g;
  Recorder rec;
  g.add_observer(rec);
  int hook_calls = 0;
  for (int iteration = 0; iteration < 2; ++iteration) {
    g.clear();
    auto x = g.variable(3.0, "x");
    if (iteration == 0)
      g.register_hook(x, [&](MatrixMap<double> grad) {
        ++hook_calls;
        grad(0, 0) = -1.0;
      });
    g.backward(x * x);
    CHECK(x.grad()(0, 0) == (iteration == 0 ? -1.0 : 6.0));
  }
  CHECK(hook_calls == 1);
  CHECK(rec.events.size() == 2 * 4);  // begin, mul, x, end on both passes
}

TEST_CASE("register_hook rejects stale handles, empty hooks and nodes without gradient",
          "[hooks][errors]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  g.clear();
  CHECK_THROWS_WITH(g.register_hook(x, [](MatrixMap<double>) {}),
                    Catch::Contains("before the graph was cleared"));
  auto y = g.variable(1.0, "y");
  CHECK_THROWS_WITH(g.register_hook(y, Graph<double>::Hook{}),
                    Catch::Contains("empty hook for 'y'"));
  auto c = g.constant(2.0, "c");
  CHECK_THROWS_WITH(g.register_hook(c, [](MatrixMap<double>) {}),
                    Catch::Contains("'c' needs no gradient"));
  Var<double> frozen;
  {
    auto guard = g.no_grad();
    frozen = (y * 2.0).named("frozen");
  }
  CHECK_THROWS_AS(g.register_hook(frozen, [](MatrixMap<double>) {}), Error);
}

TEST_CASE("hooks and observers may remove hooks and observers, themselves too, during backward",
          "[hooks]") {
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  auto a = (x * 3.0).named("a");
  auto b = (a * 5.0).named("b");
  std::vector<std::string> calls;
  HookHandle self, later, observer;
  // b's hook removes itself and the hook on a, which backward has not reached yet.
  self = g.register_hook(b, [&](MatrixMap<double>) {
    calls.push_back("b");
    g.remove(self);
    g.remove(later);
  });
  later = g.register_hook(a, [&](MatrixMap<double> grad) {
    calls.push_back("a");
    grad *= 0.0;
  });
  struct RemovesItself : Observer<double> {
    Graph<double>* g;
    HookHandle* handle;
    int nodes = 0, ends = 0;
    void on_node(const NodeView<double>&) override {
      ++nodes;
      g->remove(*handle);
    }
    void on_backward_end(const Graph<double>&) override { ++ends; }
  } obs;
  obs.g = &g;
  obs.handle = &observer;
  observer = g.add_observer(obs);
  g.backward(b);
  CHECK(calls == std::vector<std::string>{"b"});
  CHECK(obs.nodes == 1);  // removed on its first node: no more nodes, no on_backward_end
  CHECK(obs.ends == 0);
  CHECK(x.grad()(0, 0) == 15.0);  // a's hook did not zero the gradient
  g.backward(b);                  // all three are gone for good
  CHECK(calls.size() == 1);
  CHECK(obs.nodes == 1);
}

TEST_CASE("registering a hook or an observer during backward is an Error", "[hooks][errors]") {
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  auto y = (x * x).named("y");
  Recorder rec;
  g.register_hook(y, [&](MatrixMap<double>) { g.register_hook(x, [](MatrixMap<double>) {}); });
  CHECK_THROWS_WITH(g.backward(y), Catch::Contains("register_hook: called during backward"));
  g.clear();
  x = g.variable(2.0, "x");
  y = (x * x).named("y");
  g.register_hook(y, [&](MatrixMap<double>) { g.add_observer(rec); });
  CHECK_THROWS_WITH(g.backward(y), Catch::Contains("add_observer: called during backward"));
  // The failed pass ended: registering works again.
  g.clear();
  x = g.variable(2.0, "x");
  CHECK_NOTHROW(g.register_hook(x, [](MatrixMap<double>) {}));
  CHECK_NOTHROW(g.add_observer(rec));
}

TEST_CASE("backward, clear and recording from inside a hook or observer are Errors", "[hooks]") {
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  auto y = (x * x).named("y");
  auto check = [&](std::function<void()> inside, const char* message) {
    const auto handle = g.register_hook(y, [&](MatrixMap<double>) { inside(); });
    CHECK_THROWS_WITH(g.backward(y), Catch::Contains(message));
    g.remove(handle);
    // The graph is intact and the next pass exact.
    REQUIRE(g.size() == 2);
    g.backward(y);
    CHECK(x.grad()(0, 0) == 4.0);
  };
  check([&] { g.backward(y); },
        "backward: called during backward (from a hook or observer) for root 'y'");
  check([&] { g.clear(); }, "clear: called during backward");
  check([&] { g.constant(1.0); }, "constant: recording into the graph during its backward");
  check([&] { x * 3.0; }, "scale: recording into the graph during its backward");
  // Another graph may be used freely from a hook.
  Graph<double> other;
  const auto handle = g.register_hook(y, [&](MatrixMap<double> grad) {
    other.clear();
    auto c = other.variable(grad(0, 0), "c");
    other.backward(c * c);
  });
  g.backward(y);
  g.remove(handle);
  CHECK(other.node(0).grad()(0, 0) == 2.0 * 1.0);
}

#else

TEST_CASE("with hooks compiled out, registering one is an Error", "[hooks][errors]") {
  Graph<double> g;
  Recorder rec;
  auto x = g.variable(1.0, "x");
  CHECK_THROWS_WITH(g.register_hook(x, [](MatrixMap<double>) {}),
                    Catch::Contains("GRADSCOPE_HOOKS=OFF"));
  CHECK_THROWS_WITH(g.add_observer(rec), Catch::Contains("GRADSCOPE_HOOKS=OFF"));
}

#endif
