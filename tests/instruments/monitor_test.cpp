// GradientMonitor: statistics, scopes, its diagnosis, steady-state allocations, errors. Its history,
// writers and logging: monitor_output_test.cpp.
#include <gradscope/instruments/monitor.hpp>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <limits>
#include <new>
#include <utility>

#include "layer_stack.hpp"
#include "monitor_testing.hpp"

using namespace gradscope;
using namespace gradscope::testing;

#if GRADSCOPE_HOOKS  // the monitor is an observer

// Counts heap allocations in this test executable, to check the monitor's steady state.
namespace {
std::atomic<std::uint64_t> allocations{0};
}
void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// Catch2 allocates with the nothrow form: replaced too, or its memory would come from the
// runtime's operator new (AddressSanitizer's, in a sanitizer build) and be freed here.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE("per-node statistics: L2, RMS, max, mean, zero share, non-finite", "[monitor]") {
  Graph<double> g;
  GradientMonitor<double> monitor(quiet());
  g.add_observer(monitor);
  Matrix<double> root_grad(1, 4);
  root_grad << 3, 0, -4, 0;
  auto x = g.variable(Matrix<double>::Ones(1, 4), "x");
  auto y = (x * 2.0).named("y");
  g.backward(y, root_grad);
  REQUIRE(monitor.nodes().size() == 2);
  const auto& ys = monitor.nodes()[0];
  CHECK(ys.name == "y");
  CHECK(ys.op == "scale");
  CHECK(ys.shape == Shape{1, 4});
  CHECK(ys.stats.l2 == 5.0);
  CHECK(ys.stats.rms == 2.5);
  CHECK(ys.stats.max_abs == 4.0);
  CHECK(ys.stats.mean_abs == 1.75);
  CHECK(ys.stats.zero_share == 0.5);
  CHECK(ys.stats.elements == 4);
  CHECK(ys.stats.nonfinite == 0);
  CHECK(monitor.nodes()[1].stats.l2 == 10.0);  // x: 2·y's gradient

  // NaN and Inf are counted and left out of the other figures.
  g.register_hook(y, [](MatrixMap<double> grad) {
    grad << 3, std::numeric_limits<double>::quiet_NaN(), -4, std::numeric_limits<double>::infinity();
  });
  g.backward(y, root_grad);
  CHECK(monitor.nodes()[0].stats.nonfinite == 2);
  CHECK(monitor.nodes()[0].stats.l2 == 5.0);
  CHECK(monitor.nodes()[0].stats.rms == Approx(std::sqrt(25.0 / 2)));
  CHECK(monitor.nodes()[0].stats.zero_share == 0.0);
  CHECK(monitor.passes() == 2);
}

TEST_CASE("statistics aggregate exactly per scope, and scopes keep their names", "[monitor]") {
  Graph<double> g;
  GradientMonitor<double> monitor(quiet());
  g.add_observer(monitor);
  auto x = g.variable(Matrix<double>::Constant(2, 3, 1.0), "x");
  Var<double> y;
  {
    auto s = g.scope("block1");
    auto inner = g.scope("layer1");
    auto h = (x * 3.0).named("h");  // gradient 4 everywhere: 6 elements
    y = (h * 4.0).named("y");       // gradient 1 everywhere: 6 elements
  }
  g.backward(sum(y));
  // Scopes in first-use order: top (sum), block1/layer1 (y, h), top again is not repeated.
  REQUIRE(monitor.scopes().size() == 2);
  const auto& names = monitor.scope_names();
  CHECK(names[monitor.scopes()[0].scope] == "");
  const auto& layer = monitor.scopes()[1];
  CHECK(names[layer.scope] == "block1/layer1");
  CHECK(layer.stats.elements == 12);
  CHECK(layer.stats.l2 == Approx(std::sqrt(6 * 16.0 + 6 * 1.0)));
  CHECK(layer.stats.max_abs == 4.0);
  CHECK(layer.stats.mean_abs == Approx(2.5));
  CHECK(monitor.nodes()[1].name == "block1/layer1/y");
}

TEST_CASE("node names follow the graph when it changes between passes", "[monitor]") {
  // Names are rebuilt only when the node at a record's place changed: check that they are.
  Graph<double> g;
  GradientMonitor<double> monitor(quiet());
  g.add_observer(monitor);
  for (const char* name : {"h", "k", "k", ""}) {
    g.clear();
    auto x = g.variable(1.0, "x");
    auto s = g.scope(std::string(name).empty() ? "other" : "block");
    auto h = x * 2.0;
    if (*name) h.named(name);
    g.backward(h);
    INFO(name);
    REQUIRE(monitor.nodes().size() == 2);
    CHECK(monitor.nodes()[0].name == (*name ? std::string("block/") + name : "other/scale#1"));
    CHECK(monitor.nodes()[1].name == "x");
    CHECK(monitor.nodes()[0].node == 1);
  }
}

// The monitor takes some statistics from another node (an add's operand from the add, by the
// graph's structure): each record must still be its own gradient's, with hooks or without.
TEST_CASE("every node's record holds its own gradient's statistics", "[monitor]") {
  const auto p = post_points(10, 7, 6, 7);
  for (const char* act : {"relu", "sigmoid"})
    for (bool hooked : {false, true}) {
      auto net = post_net(6, 0.8, act, "sigmoid");
      Graph<double> g;
      GradientMonitor<double> monitor(quiet());
      g.add_observer(monitor);
      auto a = g.constant(p.x, "x");
      for (int l = 1; l <= net.depth(); ++l) {
        auto s = g.scope("layer" + std::to_string(l));
        auto product = matmul(transpose(g.param(net.w[l - 1])), a);
        // A hook that changes the gradient of layer 3's product, whose only consumer is an add.
        if (hooked && l == 3) g.register_hook(product, [](MatrixMap<double> grad) { grad *= 3; });
        auto z = (product + g.param(net.b[l - 1])).named("z");
        a = (l < net.depth() && net.act[l - 1] == "relu" ? relu(z) : sigmoid(z)).named("a");
      }
      g.backward(bce(a, g.constant(p.y, "y")));
      REQUIRE(monitor.nodes().size() == g.size() - 2);  // all but the constants x and y
      for (const auto& r : monitor.nodes()) {
        const auto v = g.node(r.node);
        GradSums direct;
        direct.add(v.grad());
        const GradStats want = direct.stats();
        INFO(act << (hooked ? ", hooked, " : ", ") << r.name);
        CHECK(r.stats.elements == want.elements);
        CHECK(r.stats.nonfinite == want.nonfinite);
        CHECK(r.stats.zero_share == want.zero_share);
        CHECK(r.stats.max_abs == want.max_abs);
        CHECK(r.stats.l2 == Approx(want.l2).epsilon(1e-14));
        CHECK(r.stats.mean_abs == Approx(want.mean_abs).epsilon(1e-14));
      }
    }
}

namespace {

// The monitor's diagnosis of the pass g ran last equals diagnose(g) of it.
void check_same_diagnosis(const GradientMonitor<double>& monitor, const Graph<double>& g) {
  const Diagnosis d = diagnose(g);
  const Diagnosis& m = monitor.diagnosis();
  CHECK(m.verdict == d.verdict);
  CHECK(m.measured_gain == Approx(d.measured_gain).epsilon(1e-14));
  CHECK(m.theory_gain == Approx(d.theory_gain).epsilon(1e-14));
  REQUIRE(m.layers.size() == d.layers.size());
  for (std::size_t l = 0; l < d.layers.size(); ++l) {
    CHECK(m.layers[l].grad_norm == Approx(d.layers[l].grad_norm).epsilon(1e-14));
    CHECK(m.layers[l].weight_ratio == Approx(d.layers[l].weight_ratio).epsilon(1e-14));
    if (std::isnan(d.layers[l].theory_gain))
      CHECK(std::isnan(m.layers[l].theory_gain));
    else
      CHECK(m.layers[l].theory_gain == Approx(d.layers[l].theory_gain).epsilon(1e-14));
  }
  REQUIRE(m.parameters.size() == d.parameters.size());
  for (std::size_t k = 0; k < d.parameters.size(); ++k) {
    CHECK(m.parameters[k].name == d.parameters[k].name);
    CHECK(m.parameters[k].grad_norm == Approx(d.parameters[k].grad_norm).epsilon(1e-14));
  }
}

}  // namespace

TEST_CASE("the monitor's diagnosis is diagnose() of the same pass", "[monitor]") {
  const auto p = post_points(10, 7, 6, 7);
  // At depth 300 the sigmoid net's gradients fall below 1e-200, where their squares underflow.
  for (auto [act, depth] : {std::pair{"relu", 10}, {"sigmoid", 10}, {"sigmoid", 300}}) {
    auto net = post_net(depth, 0.8, act, "sigmoid");
    Graph<double> g;
    GradientMonitor<double> monitor(quiet());
    g.add_observer(monitor);
    auto out = net.forward(g, p.x);
    g.backward(bce(out, g.constant(p.y, "y")));
    INFO(act << ", depth " << depth);
    check_same_diagnosis(monitor, g);
  }
}

// The monitor finds a graph's units once and keeps them while the structure stays the same; every
// change of structure (depth, an activation, scopes alone) must be seen.
TEST_CASE("the monitor's units follow each change of the graph's structure", "[monitor]") {
  const auto p = post_points(10, 7, 6, 7);
  Graph<double> g;
  GradientMonitor<double> monitor(quiet());
  g.add_observer(monitor);
  auto run = [&](LayerStack net, bool one_scope_for_2_and_3) {
    g.clear();
    Matrix<double> x = p.x;
    auto a = g.constant(x, "x");
    for (int l = 1; l <= net.depth(); ++l) {
      const bool merged = one_scope_for_2_and_3 && l == 3;
      auto s = g.scope("layer" + std::to_string(merged ? 2 : l));
      auto z = matmul(transpose(g.param(net.w[std::size_t(l - 1)])), a) + g.param(net.b[std::size_t(l - 1)]);
      a = net.act[std::size_t(l - 1)] == "relu" ? relu(z) : sigmoid(z);
    }
    g.backward(bce(a, g.constant(p.y, "y")));
    check_same_diagnosis(monitor, g);
    return monitor.diagnosis().layers.size();
  };
  CHECK(run(post_net(6, 0.8, "relu", "sigmoid"), false) == 6);
  CHECK(run(post_net(6, 0.8, "relu", "sigmoid"), false) == 6);     // unchanged: units kept
  CHECK(run(post_net(6, 0.8, "sigmoid", "sigmoid"), false) == 6);  // the activations' op changed
  CHECK(run(post_net(6, 0.8, "sigmoid", "sigmoid"), true) == 5);   // only scopes changed
  CHECK(run(post_net(8, 0.8, "relu", "sigmoid"), false) == 8);
  CHECK(run(post_net(6, 0.8, "relu", "sigmoid"), false) == 6);
}

TEST_CASE("a backward pass allocates nothing more with the monitor once in steady state",
          "[monitor][alloc]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(10, 0.8, "relu", "sigmoid");
  Graph<double> g;
  auto count_backward = [&](int iterations) {
    std::uint64_t during_backward = 0;
    for (int it = 0; it < iterations; ++it) {
      g.clear();
      auto loss = bce(net.forward(g, p.x), g.constant(p.y, "y"));
      const auto before = allocations.load();
      g.backward(loss);
      during_backward += allocations.load() - before;
    }
    return during_backward;
  };
  count_backward(3);
  const auto plain = count_backward(10);
  auto opt = quiet();
  opt.history_capacity = 4;  // fills and decimates during the warm-up below
  GradientMonitor<double> monitor(opt);
  g.add_observer(monitor);
  count_backward(20);
  CHECK(count_backward(10) == plain);
}

TEST_CASE("a pass stopped by an anomaly leaves the records it reached, not the last pass's",
          "[monitor][errors]") {
  CapturedLog log(spdlog::level::warn);
  GradientMonitor<double> monitor(log.options());
  Graph<double> g;
  g.set_anomaly_detection(true);
  g.add_observer(monitor);
  auto pass = [&](double x0) {
    g.clear();
    Matrix<double> v(1, 4);
    v << x0, 1, 4, 9;
    auto y = (sqrt(g.variable(v, "x")).named("s") * 2.0).named("y");
    g.backward(y, Matrix<double>::Ones(1, 4));
  };
  pass(16);
  REQUIRE(monitor.nodes().size() == 3);
  REQUIRE(monitor.diagnosis().verdict == Verdict::Unknown);  // no layer stack
  const std::string note_complete = monitor.diagnosis().note;
  // At x = 0 sqrt's backward divides by 0: the anomaly check stops the pass after node s.
  CHECK_THROWS_WITH(pass(0), Catch::Contains("anomaly: backward of"));
  REQUIRE(monitor.nodes().size() == 2);
  CHECK(monitor.nodes()[0].name == "y");
  CHECK(monitor.nodes()[1].name == "s");
  CHECK(monitor.nodes()[1].stats.l2 == 2.0 * 2.0);  // s's gradient: 2 in each of 4 entries
  CHECK(monitor.scopes().size() == 1);
  CHECK(monitor.scopes()[0].stats.elements == 8);
  CHECK(monitor.passes() == 1);
  CHECK(monitor.history().size() == 1);
  CHECK(monitor.diagnosis().note != note_complete);
  CHECK(log.count("[warning] backward 2: stopped by an error after 2 nodes, the last 's'") == 1);
  pass(16);
  CHECK(monitor.nodes().size() == 3);
  CHECK(monitor.passes() == 2);
}

TEST_CASE("bad monitor options are rejected", "[monitor][errors]") {
  MonitorOptions o;
  o.history_every = 0;
  CHECK_THROWS_WITH(GradientMonitor<double>(o), Catch::Contains("history_every"));
  o = {};
  o.history_capacity = 7;
  CHECK_THROWS_WITH(GradientMonitor<double>(o), Catch::Contains("history_capacity must be even"));
  o = {};
  o.thresholds.vanishing_gain = 2;
  CHECK_THROWS_WITH(GradientMonitor<double>(o), Catch::Contains("thresholds"));
  const auto not_a_dir = temp_path("plain_file");
  std::ofstream(not_a_dir) << "x";
  CHECK_THROWS_WITH(file_logger(not_a_dir + "/x.log"), Catch::Contains("cannot open log file"));
  std::remove(not_a_dir.c_str());
}

#endif
