// Diagnosis of vanishing and exploding gradients: the post's networks, wide networks recorded node by
// node, the mean-field theory beside the measurement, and the verdicts.
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

TEST_CASE("post's ReLU net, w = 0.8·I: measured gain 0.8 to 1e-9, theory mean-field's", "[diagnosis][post]") {
  // Like the post's own data, these points include negative coordinates: some units are dead
  // in every layer, which changes neither the measured gain nor the layers found.
  const auto p = post_points(10, 7, 6, 7);
  REQUIRE(p.x.minCoeff() < 0);
  auto net = post_net(10, 0.8, "relu", "sigmoid");
  Graph<double> g;
  const auto d = run(net, p, g);
  REQUIRE(d.layers.size() == 10);
  CHECK(d.measured_gain == Approx(0.8).margin(1e-9));
  for (int l = 1; l <= 8; ++l) {
    INFO("layer " << l);
    CHECK(d.layers[l - 1].gain == Approx(0.8).margin(1e-12));
    CHECK(d.layers[l - 1].verdict == Verdict::Vanishing);
    CHECK(d.layers[l - 1].scope == "layer" + std::to_string(l));
    // √(‖0.8·I‖²/2 · E[relu'(z)²]) = 0.8·√(share of live units), computed here independently.
    const auto z = g.node(d.layers[l - 1].z_node).value().array();
    const double live = (z > 0).cast<double>().mean();
    CHECK(d.layers[l - 1].theory_gain == Approx(0.8 * std::sqrt(live)).epsilon(1e-12));
    // The theory can disagree with the measurement: units dead for every sample carry no gradient,
    // which the measured 0.8 reflects and the mean-field average over units does not.
    if (live < 1) CHECK(d.layers[l - 1].theory_gain < 0.79);
  }
  CHECK(d.theory_gain < 0.79);
  CHECK(std::isnan(d.layers[9].gain));
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
  CHECK_THAT(format_table(d), Catch::Contains("theory is mean-field (wide layers); at width 2"));
}

TEST_CASE("post's sigmoid net: gain about 0.188, vanishing, theory from sigma'(z) of the forward pass",
          "[diagnosis][post]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(10, 0.8, "sigmoid", "sigmoid");
  Graph<double> g;
  const auto d = run(net, p, g);
  // Layers 3..8 pass the gradient on at 0.188 = 0.8·σ'(z) with z ≈ 0.5; layer 1, which sees the
  // raw inputs (up to 10, where σ' is small), at 0.10. The network's gain is the attenuation per
  // layer over the whole hidden stack, layer 1 included.
  for (int l = 3; l <= 8; ++l) CHECK(d.layers[std::size_t(l - 1)].gain == Approx(0.188).margin(0.0015));
  CHECK(d.layers[0].gain == Approx(0.10).margin(0.01));
  CHECK(d.measured_gain == Approx(0.1726).margin(0.0005));
  for (int l = 1; l <= 8; ++l) {
    // √(‖W_{l+1}‖²/n_l · E[σ'(z_l)²]), with σ' = σ(1-σ) of the recorded z_l, recomputed here.
    const auto z = g.node(d.layers[l - 1].z_node).value().array();
    const auto s = 1.0 / (1.0 + (-z).exp());
    const double mean_sq = (s * (1 - s)).square().mean();
    const double w2 = net.w[std::size_t(l)].value().squaredNorm();
    INFO("layer " << l);
    CHECK(d.layers[l - 1].theory_gain == Approx(std::sqrt(w2 / 2 * mean_sq)).epsilon(1e-12));
    CHECK(d.layers[l - 1].verdict == Verdict::Vanishing);
  }
  CHECK(d.verdict == Verdict::Vanishing);
  CHECK(d.total_gain < 1e-5);
}

TEST_CASE("gradients far below 1e-154, whose squares underflow, are measured all the same",
          "[diagnosis][post]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(300, 0.8, "sigmoid", "sigmoid");
  Graph<double> g;
  const auto d = run(net, p, g);
  REQUIRE(d.layers.size() == 300);
  const double dz1 = g.node(d.layers[0].z_node).grad().cwiseAbs().maxCoeff();
  REQUIRE(dz1 > 0);
  REQUIRE(dz1 < 1e-200);
  CHECK(d.layers[0].grad_norm > 0);
  CHECK(d.measured_gain == Approx(0.188).margin(0.002));
  CHECK(d.verdict == Verdict::Vanishing);
  CHECK(d.total_gain > 0);
  CHECK(d.total_gain < 1e-200);
}

TEST_CASE("ReLU with w = 1.1·I at depth 100 explodes", "[diagnosis]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(100, 1.1, "relu", "identity");
  Graph<double> g;
  auto out = net.forward(g, p.x);
  g.backward(bce_with_logits(out, g.constant(p.y, "y")));
  const auto d = diagnose(g);
  CHECK(d.measured_gain == Approx(1.1).margin(1e-9));
  CHECK(d.layers[49].verdict == Verdict::Stable);  // 1.1 per layer is within the per-layer band...
  CHECK(d.total_gain > 1e3);                       // ...but 1.1^98 from output to input is not
  CHECK(d.verdict == Verdict::Exploding);
}

namespace {

// A plain network recorded node by node as a user would: scopes of the user's own names, no node
// names, z = W a + b, φ on every layer but the last. Weights N(0, sigma_w2 / n), biases
// N(0, sigma_b2), 64 unit-variance inputs. The loss projects the output on a fixed random
// direction r, so that the gradient entering the top, r, is independent of the weights, as
// mean-field theory assumes (a loss such as ‖out‖² would send back W_L a, correlated with W_L).
Diagnosis user_network(int depth, int width, double sigma_w2, double sigma_b2,
                       Var<double> (*phi)(Var<double>, SourceLoc), Graph<double>& g,
                       std::vector<Parameter<double>>& params) {
  const char* names[] = {"enc", "h", "blk", "mid", "dec"};
  std::mt19937_64 rng(42);
  for (int l = 0; l < depth; ++l) {
    params.emplace_back(gaussian(width, width, std::sqrt(sigma_w2 / width), rng), "");
    params.emplace_back(gaussian(width, 1, std::sqrt(sigma_b2), rng), "");
  }
  auto a = g.constant(gaussian(width, 64, 1.0, rng));
  const auto r = g.constant(gaussian(width, 64, 1.0, rng));
  for (int l = 0; l < depth; ++l) {
    auto s = g.scope(fmt::format("{}{}", names[l % 5], l + 1));
    auto z = matmul(g.param(params[std::size_t(2 * l)]), a) + g.param(params[std::size_t(2 * l + 1)]);
    a = l + 1 < depth ? phi(z, SourceLoc::current()) : z;
  }
  g.backward(mean(a * r));
  return diagnose(g);
}

}  // namespace

TEST_CASE("a network recorded node by node, any scope names, no node names: one row per layer",
          "[diagnosis]") {
  for (double var : {2.0, 1.0}) {  // He: Var(W) = 2/n; 1/n (LeCun / Xavier for square layers)
    INFO("n·Var(W) = " << var);
    Graph<double> g;
    std::vector<Parameter<double>> params;
    const auto d = user_network(24, 256, var, 0.0, gradscope::relu<double>, g, params);
    REQUIRE(d.layers.size() == 24);
    CHECK(d.layers[0].scope == "enc1");
    CHECK(d.layers[23].scope == "mid24");  // the last layer, without an activation, is a layer too
    const double expected = std::sqrt(var / 2);
    CHECK(d.measured_gain == Approx(expected).margin(var == 2 ? 0.05 : 0.03));
    CHECK(d.theory_gain == Approx(expected).margin(0.03));
    CHECK(d.verdict == (var == 2 ? Verdict::Stable : Verdict::Vanishing));
    // The network's gain is the hidden stack's attenuation per layer, exactly.
    CHECK(std::pow(d.measured_gain, 22) == Approx(d.layers[0].grad_rms / d.layers[22].grad_rms));
  }
}

TEST_CASE("tanh at width 512, sigma_w^2 = 1.5, sigma_b^2 = 0.05: theory within 0.02 of the measurement",
          "[diagnosis][theory]") {
  Graph<double> g;
  std::vector<Parameter<double>> params;
  const auto d = user_network(30, 512, 1.5, 0.05, gradscope::tanh<double>, g, params);
  REQUIRE(d.layers.size() == 30);
  // Over the layers where the forward pass has settled near its fixed point q*.
  double measured = 0, theory = 0;
  for (int l = 10; l <= 28; ++l) {
    measured += std::log(d.layers[std::size_t(l - 1)].gain);
    theory += std::log(d.layers[std::size_t(l - 1)].theory_gain);
  }
  INFO("measured " << std::exp(measured / 19) << ", theory " << std::exp(theory / 19));
  CHECK(std::exp(measured / 19) == Approx(std::exp(theory / 19)).margin(0.02));
  CHECK(d.theory_gain == Approx(d.measured_gain).margin(0.02));
}

TEST_CASE("layer records: names chosen for display do not change what the diagnosis sees",
          "[diagnosis]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(10, 0.8, "relu", "sigmoid");
  Graph<double> g;
  const auto plain = run(net, p, g);
  // The same network with every node named "a" and the layers opened as layer records whose
  // parts are marked: the same rows, gains and theory.
  g.clear();
  auto a = g.constant(p.x);
  for (int l = 1; l <= net.depth(); ++l) {
    auto layer = g.layer(fmt::format("stage{}", l));
    auto w = g.param(net.w[std::size_t(l - 1)]);
    auto z = (matmul(transpose(w), a) + g.param(net.b[std::size_t(l - 1)])).named("a");
    a = (l < net.depth() ? relu(z) : sigmoid(z)).named("a");
    g.mark(w, LayerPart::Weight);
    g.mark(z, LayerPart::PreActivation);
    g.mark(a, LayerPart::Activation);
  }
  g.backward(bce(a, g.constant(p.y)));
  const auto d = diagnose(g);
  REQUIRE(d.layers.size() == plain.layers.size());
  for (std::size_t l = 0; l < d.layers.size(); ++l) {
    INFO("layer " << l + 1);
    CHECK(d.layers[l].scope == fmt::format("stage{}", l + 1));
    CHECK(d.layers[l].b_node != kNoNode);  // unmarked, found from the structure
    CHECK(d.layers[l].grad_rms == plain.layers[l].grad_rms);
    CHECK((std::isnan(d.layers[l].theory_gain) ||
           d.layers[l].theory_gain == plain.layers[l].theory_gain));
  }
  CHECK(d.measured_gain == plain.measured_gain);
  // Marking outside a layer, or a second node as the same part, is an Error.
  CHECK_THROWS_WITH(g.mark(g.constant(1.0, "c"), LayerPart::Weight),
                    Catch::Contains("not recorded inside a scope opened with layer()"));
}

TEST_CASE("graphs with no layers get verdict unknown and say in one line what was looked for",
          "[diagnosis]") {
  Graph<double> g;
  CHECK_THROWS_WITH(diagnose(g), Catch::Contains("backward() has not run"));
  auto x = g.variable(2.0, "x");
  g.backward(x * x);
  auto d = diagnose(g);
  CHECK(d.verdict == Verdict::Unknown);
  CHECK(d.layers.empty());
  CHECK_THAT(d.note, Catch::Contains("looked for layer records (Graph::layer) and for scopes holding "
                                     "a matrix product (matmul)"));
  CHECK(d.note.find('\n') == std::string::npos);
  CHECK_THAT(format_summary(d), Catch::Contains("verdict unknown"));
}

TEST_CASE("verdicts: hysteresis keeps a verdict near its threshold, one noisy layer does not flip it",
          "[diagnosis]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(10, 0.8, "relu", "sigmoid");
  Graph<double> g;
  run(net, p, g);
  DiagnosisThresholds th;
  th.vanishing_gain = 0.79;  // 0.8 is just above: stable from a fresh start
  th.vanishing_total = 1e-6;
  Diagnosis d;
  diagnose(g, th, d);
  CHECK(d.verdict == Verdict::Stable);
  CHECK(d.layers[3].verdict == Verdict::Stable);
  // Had the last pass been vanishing, 0.8 is not clearly above 0.79 (by the 2% margin): it stays.
  d.verdict = Verdict::Vanishing;
  d.layers[3].verdict = Verdict::Vanishing;
  diagnose(g, th, d);
  CHECK(d.verdict == Verdict::Vanishing);
  CHECK(d.layers[3].verdict == Verdict::Vanishing);
  th.hysteresis = 0;
  diagnose(g, th, d);
  CHECK(d.verdict == Verdict::Stable);
  // The trend of layer 4 is the geometric mean of the gains of layers 2..6.
  double sum = 0;
  for (int l = 2; l <= 6; ++l) sum += std::log(d.layers[std::size_t(l - 1)].gain);
  CHECK(d.layers[3].trend == Approx(std::exp(sum / 5)).epsilon(1e-12));
}

TEST_CASE("thresholds are configurable", "[diagnosis]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(10, 0.8, "relu", "sigmoid");
  Graph<double> g;
  run(net, p, g);
  DiagnosisThresholds lenient;
  lenient.vanishing_gain = 0.7;
  lenient.vanishing_total = 0.1;  // rms(dz_1)/rms(dz_10) = 0.165 passes
  const auto d = diagnose(g, lenient);
  CHECK(d.verdict == Verdict::Stable);
  CHECK(d.layers[0].verdict == Verdict::Stable);
  lenient.vanishing_total = 0.2;
  CHECK(diagnose(g, lenient).verdict == Verdict::Vanishing);
}

TEST_CASE("non-finite layer gradients give verdict non_finite", "[diagnosis]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(5, 0.8, "relu", "sigmoid");
  net.w[2].value()(0, 0) = std::numeric_limits<double>::infinity();
  Graph<double> g;
  const auto d = run(net, p, g);
  CHECK(d.verdict == Verdict::NonFinite);
}

TEST_CASE("diagnosis JSON has the keys the CLI and readers rely on, NaN is null", "[diagnosis]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(10, 0.8, "relu", "sigmoid");
  Graph<double> g;
  const nlohmann::json j = run(net, p, g);
  CHECK(j.at("measured_gain").get<double>() == Approx(0.8));
  CHECK(j.at("theory_gain").is_number());
  CHECK(j.at("layers")[0].at("theory_gain").is_number());
  CHECK(j.at("verdict") == "vanishing");
  CHECK(j.at("layers").size() == 10);
  CHECK(j.at("layers")[0].at("layer") == 1);
  CHECK(j.at("layers")[9].at("gain").is_null());
  for (const auto& pr : j.at("parameters"))  // ‖db‖/‖b‖ with b = 0 is infinite: null
    CHECK(pr.at("ratio").is_null() == (pr.at("name").get<std::string>().back() == 'b'));
  const std::string table = format_table(run(net, p, g));
  CHECK_THAT(table, Catch::Contains("network: gain 0.8 per layer (theory "));
  CHECK_THAT(table, Catch::Contains("vanishing"));
}
