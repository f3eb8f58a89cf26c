// Bad input at every public entry point of the engine: each throws a gradscope::Error whose
// message names what was wrong.
#include <catch2/catch.hpp>
#include <cmath>
#include <gradscope/autodiff/autodiff.hpp>
#include <gradscope/models/optimizer.hpp>
#include <limits>
#include <optional>

#include "reliability/expect_error.hpp"

using namespace gradscope;
using gradscope::testing::expect_error;

namespace {
Matrix<double> ones(int r, int c) { return Matrix<double>::Ones(r, c); }
}  // namespace

TEST_CASE("validation: operands that do not broadcast", "[reliability][validation]") {
  Graph<double> g;
  auto a = g.variable(ones(2, 3), "a");
  auto b = g.variable(ones(3, 2), "b");
  expect_error([&] { a + b; }, {"add:", "'a' is 2x3", "'b' is 3x2", "broadcast"});
  auto col = g.constant(ones(3, 1), "bias");
  expect_error([&] { a* col; }, {"mul:", "'bias' is 3x1"});
}

TEST_CASE("validation: matmul inner dimensions", "[reliability][validation]") {
  Graph<double> g;
  auto w = g.variable(ones(2, 3), "w");
  auto x = g.constant(ones(2, 20), "x");
  expect_error([&] { matmul(w, x); }, {"matmul:", "'w' is 2x3", "'x' is 2x20", "(m x k)(k x n)"});
}

TEST_CASE("validation: loss of prediction and target of different shapes",
          "[reliability][validation]") {
  Graph<double> g;
  auto p = g.variable(ones(1, 20), "p");
  auto y = g.constant(ones(20, 1), "y");
  expect_error([&] { bce(p, y); }, {"bce:", "'p' is 1x20", "'y' is 20x1", "same shape"});
  expect_error([&] { mse(p, y); },
               {"mse:", "a loss takes no target of another shape", "mean(pow(prediction - target, 2.0))"});
  expect_error([&] { bce_with_logits(p, y); }, {"bce_with_logits:"});
}

TEST_CASE("validation: reduction axis out of range", "[reliability][validation]") {
  Graph<double> g;
  auto x = g.variable(ones(2, 3), "x");
  expect_error([&] { sum(x, 2); },
               {"sum:", "'x' is 2x3", "attribute 2", "axis must be 0 or -2", "without an axis"});
  expect_error([&] { mean(x, -3); }, {"mean:", "attribute -3"});
  // A 1x1 operand takes the scalar path of recording, whose shape rule is folded at compile time.
  auto s = g.variable(2.0, "s");
  expect_error([&] { sum(s, 3); }, {"sum:", "'s' is 1x1", "attribute 3", "axis must be 0 or -2"});
  CHECK(g.size() == 2);  // the failed ops recorded nothing
}

TEST_CASE("validation: empty tensors", "[reliability][validation]") {
  Graph<double> g;
  expect_error([&] { g.constant(Matrix<double>(0, 3), "data"); }, {"constant 'data'", "0x3"});
  expect_error([&] { g.variable(Matrix<double>(4, 0), "v"); }, {"variable 'v'", "4x0"});
  expect_error([&] { g.variable(Matrix<double>(0, 2)); },
               {"variable (unnamed): empty tensor (0x2) created at ", "validation_test.cpp:"});
  expect_error([&] { Parameter<double>(Matrix<double>(), "w"); }, {"parameter 'w'", "empty"});
}

TEST_CASE("validation: nodes of another graph", "[reliability][validation]") {
  Graph<double> g, other;
  auto x = g.variable(1.0, "x");
  auto u = other.variable(1.0, "u");
  expect_error([&] { x* u; }, {"mul:", "belongs to another graph"});
  expect_error([&] { other.backward(x); }, {"backward:", "another graph"});
  expect_error([&] { other.register_hook(x, [](MatrixMap<double>) {}); },
               {"register_hook:", "another graph"});
  expect_error([&] { other.node(x); }, {"node:", "another graph"});
}

TEST_CASE("validation: nodes of a cleared graph", "[reliability][validation]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  auto y = exp(x);
  g.clear();
  auto fresh = g.variable(1.0, "fresh");  // same index as x: the epoch tells them apart
  CHECK(fresh.index() == x.index());
  expect_error([&] { x.value(); }, {"node #0", "before the graph was cleared"});
  expect_error([&] { fresh + x; }, {"add:", "cleared"});
  expect_error([&] { g.backward(y); }, {"backward:", "cleared"});
  expect_error([&] { x.named("again"); }, {"named:", "cleared"});
  expect_error([&] { g.register_hook(y, [](MatrixMap<double>) {}); },
               {"register_hook:", "cleared"});
}

TEST_CASE("validation: a handle into a destroyed graph, used with one built in its place",
          "[reliability][validation]") {
  std::optional<Graph<double>> g(std::in_place);
  const auto x = g->variable(1.0, "x");
  g.emplace();  // the new graph sits at the old one's address
  REQUIRE(&x.graph() == &*g);
  g->variable(2.0, "y");  // a node #0 that x must not be taken for
  expect_error([&] { x.value(); }, {"node #0", "graph since destroyed"});
  expect_error([&] { exp(x); }, {"exp:", "graph since destroyed"});
}

TEST_CASE("validation: empty handles and indices out of range", "[reliability][validation]") {
  Graph<double> g;
  expect_error([&] { exp(Var<double>()); }, {"empty node handle"});
  g.variable(1.0, "x");
  expect_error([&] { g.node(5); }, {"node #5 does not exist", "graph has 1 nodes"});
}

TEST_CASE("validation: gradients read before backward or of nodes recorded after it",
          "[reliability][validation]") {
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  auto y = (x * x).named("y");
  expect_error([&] { y.grad(); }, {"gradient of 'y'", "backward() has not run"});
  g.backward(y);
  auto later = (y * 2.0).named("later");
  expect_error([&] { later.grad(); },
               {"gradient of 'later'", "recorded after the last backward()"});
}

TEST_CASE("validation: backward twice recomputes node gradients and accumulates parameters",
          "[reliability][validation]") {
  // The graph is not released by backward (PyTorch's retain_graph=True): a second backward is
  // legal. Node gradients are this pass's; Parameter::grad() accumulates until zero_grad().
  Graph<double> g;
  Parameter<double> w(ones(1, 1) * 3.0, "w");
  auto loss = (g.param(w) * g.param(w)).named("loss");
  g.backward(loss);
  g.backward(loss);
  CHECK(g.node(0).grad()(0, 0) == 3.0);  // one of the two uses of w: d(w·w)/d(first w) = w
  CHECK(w.grad()(0, 0) == 12.0);         // 2w per pass, two passes
  // Once cleared, the graph is released: the old root is refused.
  g.clear();
  expect_error([&] { g.backward(loss); }, {"backward:", "cleared"});
}

TEST_CASE("validation: root and root gradient of backward", "[reliability][validation]") {
  Graph<double> g;
  auto x = g.variable(ones(2, 3), "x");
  auto y = (x * 2.0).named("y");
  expect_error([&] { g.backward(y); }, {"root 'y' is 2x3, not 1x1", "root gradient"});
  expect_error([&] { g.backward(y, ones(3, 2)); }, {"root gradient is 3x2", "root 'y' is 2x3"});
  auto c = g.constant(1.0, "c");
  expect_error([&] { g.backward(exp(c).named("e")); },
               {"root 'e' does not depend on any variable or parameter, only on constants"});
  // Recorded under no_grad: the message says so, for the leaf itself and for what reads it.
  Var<double> v, h;
  {
    auto guard = g.no_grad();
    v = g.variable(ones(2, 3), "v");
    h = sum(x * 3.0).named("h");
  }
  expect_error([&] { g.backward(sum(v)); },
               {"root 'sum#", "needs no gradient", "('v')", "no_grad"});
  expect_error([&] { g.backward(v, ones(2, 3)); },
               {"root 'v' is a variable recorded under no_grad, so it needs no gradient"});
  expect_error([&] { g.backward(h); }, {"root 'h' needs no gradient", "('x')", "no_grad"});
}

TEST_CASE("validation: bce of a prediction outside [0, 1]", "[reliability][validation]") {
  Graph<double> g;
  Matrix<double> pv(3, 1);
  pv << 0.5, 1.25, 0.0;
  auto p = g.variable(pv, "p");
  auto y = g.constant(ones(3, 1), "y");
  const auto before = g.size();
  expect_error([&] { bce(p, y); },
               {"bce at ", "validation_test.cpp:", "input 0 'p' (3x1) holds values in [0, 1.25]",
                "bce takes probabilities in [0, 1]", "bce_with_logits"});
  auto q = g.variable(-1e-3, "q");
  expect_error([&] { bce(q, g.constant(0.0)); }, {"input 0 'q' (1x1)", "[-0.001, -0.001]"});
  CHECK(g.size() == before + 2);  // q and the constant: the failed ops recorded nothing
  // The edges of the domain are accepted (the loss may then be infinite, as the formula says).
  pv << 0.5, 1.0, 0.0;
  CHECK_NOTHROW(bce(g.variable(pv, "edges"), y));
}

TEST_CASE("validation: item() of a node that is not 1x1", "[reliability][validation]") {
  Graph<double> g;
  auto x = g.variable(ones(2, 3), "x");
  expect_error([&] { x.item(); }, {"item(): node 'x' is 2x3, not 1x1"});
}

TEST_CASE("validation: scope names", "[reliability][validation]") {
  Graph<double> g;
  expect_error([&] { auto s = g.scope(""); }, {"scope: name ''", "non-empty"});
  expect_error([&] { auto s = g.scope("block1/layer3"); }, {"'block1/layer3'", "no '/'"});
}

TEST_CASE("validation: empty hook", "[reliability][validation]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  expect_error([&] { g.register_hook(x, {}); }, {"register_hook: empty hook for 'x'"});
}

TEST_CASE("validation: apply with the wrong number of inputs or a leaf op",
          "[reliability][validation]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  expect_error([&] { g.apply(Op::Matmul, {x}); }, {"matmul: takes 2 input(s), got 1"});
  expect_error([&] { g.apply(Op::Exp, {x, x}); }, {"exp: takes 1 input(s), got 2"});
  expect_error([&] { g.apply(Op::Constant, {}); }, {"constant is a leaf", "Graph::constant"});
}

TEST_CASE("validation: a parameter reassigned to another shape after it was recorded",
          "[reliability][validation]") {
  Graph<double> g;
  Parameter<double> w(ones(2, 2), "w");
  auto s = g.scope("layer1");
  auto wn = g.param(w);
  auto loss = sum(matmul(wn, g.constant(ones(2, 3), "x")));
  w.value() = ones(3, 3);  // e.g. a resized layer; the graph still says 2x2
  CHECK(g.node(wn).value() == ones(2, 2));  // the node keeps the value it recorded
  CHECK(g.node(exp(wn)).value()(1, 1) == std::exp(1.0));
  expect_error([&] { g.backward(loss); },
               {"backward: parameter 'layer1/w' was 2x2 when recorded but is now 3x3",
                "record the graph again"});
}

TEST_CASE("validation: a parameter changed after it was recorded is differentiated at the value "
          "recorded", "[reliability][validation]") {
  Graph<double> g;
  Parameter<double> w(Matrix<double>::Constant(1, 1, 2.0), "w");
  auto x = g.variable(3.0, "x");
  auto loss = mul(g.param(w), x);
  w.value()(0, 0) = 5;  // e.g. an optimizer step taken before this graph's backward
  g.backward(loss);
  CHECK(g.node(x).grad()(0, 0) == 2);
  CHECK(w.grad()(0, 0) == 3);
}

TEST_CASE("validation: a parameter whose grad() was given another shape",
          "[reliability][validation]") {
  Graph<double> g;
  Parameter<double> w(ones(2, 2), "w");
  auto loss = sum(g.param(w));
  w.grad() = ones(1, 1);
  expect_error([&] { g.backward(loss); }, {"grad() of parameter 'w' is 1x1", "recorded as 2x2"});
  expect_error([&] { g.param(w); }, {"param 'w': value is 2x2 but grad() is 1x1"});
}

TEST_CASE("validation: a moved-from parameter", "[reliability][validation]") {
  Graph<double> g;
  Parameter<double> w(ones(2, 2), "w");
  Parameter<double> kept = std::move(w);
  const Parameter<double>& cw = w;
  expect_error([&] { g.param(w); }, {"param: the Parameter was moved from"});
  expect_error([&] { w.name(); }, {"Parameter::name(): the Parameter was moved from"});
  expect_error([&] { w.shape(); }, {"Parameter::shape(): the Parameter was moved from"});
  expect_error([&] { w.value(); }, {"Parameter::value(): the Parameter was moved from"});
  expect_error([&] { cw.value(); }, {"Parameter::value(): the Parameter was moved from"});
  expect_error([&] { w.grad(); }, {"Parameter::grad(): the Parameter was moved from"});
  expect_error([&] { cw.grad(); }, {"Parameter::grad(): the Parameter was moved from"});
  expect_error([&] { w.zero_grad(); }, {"Parameter::zero_grad(): the Parameter was moved from"});
  for (const char* name : {"sgd", "momentum", "adam"}) {
    INFO(name);
    expect_error([&] { models::make_optimizer<double>(name, {&kept, &w}, 0.1); },
                 {"the Parameter was moved from"});
  }
  CHECK(g.param(kept).shape() == Shape{2, 2});
}

// --- optimisers
// -----------------------------------------------------------------------------------

TEST_CASE("validation: optimiser learning rates", "[reliability][validation]") {
  Parameter<double> w(ones(2, 2), "w");
  for (double lr : {0.0, -0.01, std::nan(""), std::numeric_limits<double>::infinity()})
    expect_error([&] { models::make_optimizer<double>("sgd", {&w}, lr); },
                 {"learning rate", "must be finite and > 0"});
  expect_error([&] { models::make_optimizer<double>("rmsprop", {&w}, 0.1); },
               {"unknown optimizer 'rmsprop'", "sgd, momentum or adam"});
}

TEST_CASE("validation: optimiser given a null or repeated parameter", "[reliability][validation]") {
  Parameter<double> w(ones(2, 2), "layer1/w");
  expect_error([&] { models::Sgd<double>({&w, nullptr}, 0.1); }, {"parameter 1 is null"});
  expect_error(
      [&] {
        models::Sgd<double>({&w, &w}, 0.1);
      },
      {"parameter 'layer1/w' is given twice", "positions 0 and 1"});
}

TEST_CASE("validation: optimiser step on parameters of the wrong shape",
          "[reliability][validation]") {
  for (const char* name : {"sgd", "momentum", "adam"}) {
    INFO(name);
    Parameter<double> w(ones(2, 2), "layer1/w"), b(ones(2, 1), "layer1/b");
    auto opt = models::make_optimizer<double>(name, {&w, &b}, 0.1);
    b.grad() = ones(3, 1);  // a gradient of another shape
    expect_error([&] { opt->step(); }, {"parameter 'layer1/b' is 2x1 but its gradient is 3x1"});
    CHECK(w.value() == ones(2, 2));  // nothing was updated
    b.grad() = Matrix<double>::Zero(2, 1);
    if (std::string(name) != "sgd") {
      // A value reassigned to another shape no longer fits the optimiser's state.
      w.value() = ones(3, 3);
      w.grad() = Matrix<double>::Zero(3, 3);
      expect_error([&] { opt->step(); },
                   {"parameter 'layer1/w' is 3x3 but was 2x2 when the optimiser was made"});
    }
  }
}
