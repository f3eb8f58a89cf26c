// Diagnosis of vanishing and exploding gradients on the seed's networks and on wide ReLU nets.
#include <gradscope/instruments/diagnosis.hpp>
#include <gradscope/writers/diagnosis_json.hpp>

#include <catch2/catch.hpp>

#include "layer_stack.hpp"

using namespace gradscope;
using namespace gradscope::testing;

namespace {

Diagnosis run(LayerStack& net, const Points& p, Graph<double>& g) {
  g.clear();
  auto out = net.forward(g, p.x);
  g.backward(bce(out, g.constant(p.y, "y")));
  return diagnose(g);
}

}  // namespace

TEST_CASE("seed ReLU net, w = 0.8·I: measured gain 0.8 to 1e-9, as predicted", "[diagnosis][seed]") {
  // Like the seed's own data, these points include negative coordinates: some units are dead
  // in every layer, which changes neither the gain nor its prediction.
  const auto p = seed_points(10, 7, 6, 7);
  REQUIRE(p.x.minCoeff() < 0);
  auto net = seed_net(10, 0.8, "relu", "sigmoid");
  Graph<double> g;
  const auto d = run(net, p, g);
  REQUIRE(d.layers.size() == 10);
  CHECK(d.measured_gain == Approx(0.8).margin(1e-9));
  CHECK(d.predicted_gain == Approx(0.8).margin(1e-9));
  for (int l = 1; l <= 8; ++l) {
    INFO("layer " << l);
    CHECK(d.layers[l - 1].gain == Approx(0.8).margin(1e-12));
    CHECK(d.layers[l - 1].predicted_gain == Approx(0.8).margin(1e-12));
    CHECK(d.layers[l - 1].verdict == Verdict::Vanishing);
    CHECK(d.layers[l - 1].scope == "layer" + std::to_string(l));
  }
  // Layer 9 sits under the [1,1]ᵀ output layer: with every unit alive its rms would not change;
  // the dead units lower it, and the prediction knows where they are.
  CHECK(d.layers[8].gain <= 1.0);
  CHECK(d.layers[8].gain == Approx(d.layers[8].predicted_gain).epsilon(1e-12));
  CHECK(d.layers[8].verdict == Verdict::Stable);
  CHECK(std::isnan(d.layers[9].gain));
  CHECK(d.total_gain == Approx(std::pow(0.8, 8) * d.layers[8].gain).epsilon(1e-12));
  CHECK(d.verdict == Verdict::Vanishing);
  // ‖dw‖/‖w‖ for every parameter; b = 0 gives an infinite ratio.
  REQUIRE(d.parameters.size() == 20);
  auto ratio_of = [&](const std::string& name) {
    for (const auto& pr : d.parameters)
      if (pr.name == name) return pr.ratio;
    FAIL("no parameter " << name);
    return 0.0;
  };
  CHECK(ratio_of("layer1/w") > 0);
  CHECK(std::isinf(ratio_of("layer1/b")));
  CHECK(d.layers[0].weight_ratio == ratio_of("layer1/w"));
}

TEST_CASE("seed sigmoid net: gain about 0.19, predicted from sigma'(z) of the forward pass, vanishing",
          "[diagnosis][seed]") {
  const auto p = seed_points(10, 7, 6, 7);
  auto net = seed_net(10, 0.8, "sigmoid", "sigmoid");
  Graph<double> g;
  const auto d = run(net, p, g);
  CHECK(d.measured_gain == Approx(0.19).margin(0.015));
  CHECK(d.predicted_gain == Approx(d.measured_gain).epsilon(1e-12));
  // The prediction is the seed's recurrence with the true σ'(z) = σ(1-σ) of the recorded z,
  // recomputed here independently: rms(0.8·dz_{l+1} ⊙ σ'(z_l)) / rms(dz_{l+1}).
  for (int l = 1; l <= 8; ++l) {
    const Matrix<double> up = g.node(d.layers[l].z_node).grad();
    const auto z = g.node(d.layers[l - 1].z_node).value().array();
    const auto s = 1.0 / (1.0 + (-z).exp());
    const Matrix<double> dz = (0.8 * up.array() * s * (1 - s)).matrix();
    INFO("layer " << l);
    CHECK(d.layers[l - 1].predicted_gain == Approx(dz.norm() / up.norm()).epsilon(1e-12));
    CHECK(d.layers[l - 1].gain == Approx(d.layers[l - 1].predicted_gain).epsilon(1e-12));
    CHECK(d.layers[l - 1].verdict == Verdict::Vanishing);
  }
  CHECK(d.verdict == Verdict::Vanishing);
  CHECK(d.total_gain < 1e-5);
}

TEST_CASE("gradients far below 1e-154, whose squares underflow, are measured all the same",
          "[diagnosis][seed]") {
  const auto p = seed_points(10, 7, 6, 7);
  auto net = seed_net(300, 0.8, "sigmoid", "sigmoid");
  Graph<double> g;
  const auto d = run(net, p, g);
  REQUIRE(d.layers.size() == 300);
  const double dz1 = g.node(d.layers[0].z_node).grad().cwiseAbs().maxCoeff();
  REQUIRE(dz1 > 0);
  REQUIRE(dz1 < 1e-200);
  CHECK(d.layers[0].grad_norm > 0);
  CHECK(d.measured_gain == Approx(0.188).margin(0.002));
  CHECK(d.predicted_gain == Approx(d.measured_gain).epsilon(1e-12));
  for (int l = 1; l <= 298; ++l) {
    INFO("layer " << l);
    CHECK(d.layers[l - 1].gain == Approx(d.layers[l - 1].predicted_gain).epsilon(1e-12));
  }
  CHECK(d.verdict == Verdict::Vanishing);
  CHECK(d.total_gain > 0);
  CHECK(d.total_gain < 1e-200);
}

TEST_CASE("the prediction is the same from the engine's w·dz and from its own product",
          "[diagnosis][seed]") {
  // In a plain stack, layer l+1's product is the only consumer of a_l, so the engine's gradient of
  // a_l is exactly w_{l+1}·dz_{l+1} and the prediction takes it. Giving every a_l a second
  // consumer that adds exactly 0 to its gradient (0 · sum(a_l) in the loss) makes the diagnosis
  // compute the product itself; the measured and predicted gains must not change.
  const auto p = seed_points(10, 7, 6, 7);
  for (const char* act : {"relu", "sigmoid"}) {
    INFO(act);
    auto net = seed_net(10, 0.8, act, "sigmoid");
    Graph<double> g;
    const Diagnosis plain = run(net, p, g);
    g.clear();
    Var<double> a = g.constant(p.x, "x"), extra = g.constant(0.0, "zero");
    for (int l = 1; l <= net.depth(); ++l) {
      auto s = g.scope("layer" + std::to_string(l));
      auto z = (matmul(transpose(g.param(net.w[l - 1])), a) + g.param(net.b[l - 1])).named("z");
      a = (net.act[l - 1] == "relu" ? relu(z) : sigmoid(z)).named("a");
      if (l < net.depth()) extra = extra + sum(a) * 0.0;
    }
    g.backward(bce(a, g.constant(p.y, "y")) + extra);
    const Diagnosis computed = diagnose(g);
    for (int l = 1; l < net.depth(); ++l) {
      INFO("layer " << l);
      CHECK(computed.layers[l - 1].gain == plain.layers[l - 1].gain);
      CHECK(computed.layers[l - 1].predicted_gain ==
            Approx(plain.layers[l - 1].predicted_gain).epsilon(1e-13));
    }
    CHECK(computed.predicted_gain == Approx(plain.predicted_gain).epsilon(1e-13));
  }
}

TEST_CASE("ReLU with w = 1.1·I at depth 100 explodes", "[diagnosis]") {
  const auto p = seed_points(10, 7, 6, 7);
  // The seed's sigmoid output and cross-entropy, fused: at these activations a separate sigmoid
  // rounds to exactly 1 and its gradient to exactly 0.
  auto net = seed_net(100, 1.1, "relu", "identity");
  Graph<double> g;
  auto out = net.forward(g, p.x);
  g.backward(bce_with_logits(out, g.constant(p.y, "y")));
  const auto d = diagnose(g);
  CHECK(d.measured_gain == Approx(1.1).margin(1e-9));
  CHECK(d.predicted_gain == Approx(1.1).margin(1e-9));
  CHECK(d.layers[49].verdict == Verdict::Stable);  // 1.1 per layer is within the per-layer band...
  CHECK(d.total_gain > 1e3);                       // ...but 1.1^98 from output to input is not
  CHECK(d.verdict == Verdict::Exploding);
}

namespace {

// Width 256, depth 50 ReLU net (identity output layer of width 1), Gaussian weights of the given
// standard deviation, 64 Gaussian samples, mse loss.
Diagnosis wide_relu(double std_dev) {
  std::mt19937_64 rng(42);
  const int width = 256, depth = 50;
  LayerStack net;
  for (int l = 1; l < depth; ++l) net.add(gaussian(width, width, std_dev, rng), "relu");
  net.add(gaussian(width, 1, std_dev, rng), "identity");
  const Matrix<double> x = gaussian(width, 64, 1.0, rng);
  Graph<double> g;
  auto out = net.forward(g, x);
  g.backward(mse(out, g.constant(Matrix<double>::Ones(1, 64), "y")));
  return diagnose(g);
}

}  // namespace

TEST_CASE("width 256, depth 50 ReLU: He initialisation is stable, Xavier vanishes", "[diagnosis]") {
  const double n = 256;
  const auto he = wide_relu(std::sqrt(2 / n));          // Var(w) = 2 / fan_in
  const auto xavier = wide_relu(std::sqrt(2 / (n + n)));  // Var(w) = 2 / (fan_in + fan_out)
  CHECK(he.measured_gain == Approx(1.0).margin(0.05));
  CHECK(he.predicted_gain == Approx(he.measured_gain).margin(0.05));
  CHECK(he.verdict == Verdict::Stable);
  CHECK(xavier.measured_gain == Approx(std::sqrt(0.5)).margin(0.05));
  CHECK(xavier.predicted_gain == Approx(xavier.measured_gain).margin(0.05));
  CHECK(xavier.verdict == Verdict::Vanishing);
  CHECK(xavier.total_gain < 1e-3);
}

TEST_CASE("thresholds are configurable", "[diagnosis]") {
  const auto p = seed_points(10, 7, 6, 7);
  auto net = seed_net(10, 0.8, "relu", "sigmoid");
  Graph<double> g;
  run(net, p, g);
  DiagnosisThresholds lenient;
  lenient.vanishing_gain = 0.7;
  lenient.vanishing_total = 0.1;  // 0.8^8 = 0.168 passes
  const auto d = diagnose(g, lenient);
  CHECK(d.verdict == Verdict::Stable);
  CHECK(d.layers[0].verdict == Verdict::Stable);
  lenient.vanishing_total = 0.2;
  CHECK(diagnose(g, lenient).verdict == Verdict::Vanishing);
}

TEST_CASE("graphs that are no layer stack get verdict unknown and say why", "[diagnosis]") {
  Graph<double> g;
  CHECK_THROWS_WITH(diagnose(g), Catch::Contains("backward() has not run"));
  auto x = g.variable(2.0, "x");
  g.backward(x * x);
  auto d = diagnose(g);
  CHECK(d.verdict == Verdict::Unknown);
  CHECK(d.layers.empty());
  CHECK(d.note == "no scopes layer<l> with a node 'z'");
  CHECK_THAT(format_summary(d), Catch::Contains("verdict unknown"));

  // layer2 missing between layer1 and layer3
  g.clear();
  auto v = g.variable(1.0, "v");
  Var<double> top;
  for (int l : {1, 3}) {
    auto s = g.scope("layer" + std::to_string(l));
    top = (v * 2.0).named("z");
  }
  g.backward(top);
  d = diagnose(g);
  CHECK(d.verdict == Verdict::Unknown);
  CHECK(d.note == "layer2 has no node 'z' (layers 1..3 are needed)");

  // two nodes "z" in one layer
  g.clear();
  v = g.variable(1.0, "v");
  {
    auto s = g.scope("layer1");
    auto z1 = (v * 2.0).named("z");
    top = (z1 * 3.0).named("z");
  }
  g.backward(top);
  CHECK(diagnose(g).note == "scope 'layer1' holds two nodes named 'z'");
}

TEST_CASE("non-finite layer gradients give verdict non_finite", "[diagnosis]") {
  const auto p = seed_points(10, 7, 6, 7);
  auto net = seed_net(5, 0.8, "relu", "sigmoid");
  net.w[2].value()(0, 0) = std::numeric_limits<double>::infinity();
  Graph<double> g;
  const auto d = run(net, p, g);
  CHECK(d.verdict == Verdict::NonFinite);
}

TEST_CASE("layer_of_scope reads the last path component", "[diagnosis]") {
  CHECK(layer_of_scope("layer3") == 3);
  CHECK(layer_of_scope("block1/layer12") == 12);
  CHECK(layer_of_scope("layer") == 0);
  CHECK(layer_of_scope("layer0") == 0);
  CHECK(layer_of_scope("layer3x") == 0);
  CHECK(layer_of_scope("mylayer3") == 0);
  CHECK(layer_of_scope("") == 0);
}

TEST_CASE("diagnosis JSON has the keys the CLI and readers rely on, NaN is null", "[diagnosis]") {
  const auto p = seed_points(10, 7, 6, 7);
  auto net = seed_net(10, 0.8, "relu", "sigmoid");
  Graph<double> g;
  const nlohmann::json j = run(net, p, g);
  CHECK(j.at("measured_gain").get<double>() == Approx(0.8));
  CHECK(j.at("predicted_gain").get<double>() == Approx(0.8));
  CHECK(j.at("verdict") == "vanishing");
  CHECK(j.at("layers").size() == 10);
  CHECK(j.at("layers")[0].at("layer") == 1);
  CHECK(j.at("layers")[9].at("gain").is_null());
  for (const auto& pr : j.at("parameters"))  // ‖db‖/‖b‖ with b = 0 is infinite: null
    CHECK(pr.at("ratio").is_null() == (pr.at("name").get<std::string>().back() == 'b'));
  const std::string table = format_table(run(net, p, g));
  CHECK_THAT(table, Catch::Contains("network: gain 0.8 per layer (predicted 0.8)"));
  CHECK_THAT(table, Catch::Contains("vanishing"));
}
