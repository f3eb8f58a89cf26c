// Residual blocks, layer normalisation and multi-class softmax cross-entropy: each block seen by
// the diagnosis as one unit, the gains of deep stacks with and without them (deterministic seeds),
// and the softmax gradient against its hand derivation (p − y)/m.
#include <algorithm>
#include <catch2/catch.hpp>
#include <gradscope/instruments/diagnosis.hpp>
#include <gradscope/models/models.hpp>

using namespace gradscope;
using namespace gradscope::models;

namespace {

// The diagnosis of one pass of net, untrained, on the post's two clusters (100 points each).
Diagnosis diagnose_pass(Network<double>& net) {
  TwoGaussians spec;
  spec.per_class = 100;
  const Dataset data = two_gaussians(spec);
  Graph<double> g;
  const auto f = net.forward(g.constant(data.x, "x"));
  g.backward(binary_cross_entropy(f.output(), g.constant(data.y, "y")));
  return diagnose(g);
}

PostNetworkSpec deep(Activation act, Init init, Norm norm = Norm::None) {
  PostNetworkSpec s;
  s.depth = 50;
  s.width = 64;
  s.hidden = act;
  s.hidden_init = s.output_init = init;
  s.norm = norm;
  s.seed = 1;
  return s;
}

// max / min of rms(dL/dz) over the hidden units 1 .. L-1.
double spread(const Diagnosis& d) {
  double lo = d.layers.front().grad_rms, hi = lo;
  for (std::size_t l = 0; l + 1 < d.layers.size(); ++l) {
    lo = std::min(lo, d.layers[l].grad_rms);
    hi = std::max(hi, d.layers[l].grad_rms);
  }
  return hi / lo;
}

}  // namespace

TEST_CASE("residual: each block is one unit, its z the stream's sum, no mean-field theory") {
  ResidualMlp<double> net(deep(Activation::Relu, Init::xavier_uniform()));
  const Diagnosis d = diagnose_pass(net);
  REQUIRE(d.layers.size() == 50);
  CHECK(d.layers.front().scope == "layer1");
  CHECK(d.layers[1].scope == "block2");
  CHECK(d.layers[48].scope == "block49");
  CHECK(d.layers.back().scope == "layer50");
  // A block's unit: its first weight, and the sum as z and a; below a block no theory is stated.
  CHECK(d.layers[1].z_node == d.layers[1].a_node);
  CHECK(d.layers[1].w_node != kNoNode);
  CHECK(std::isnan(d.layers[0].theory_gain));
  CHECK(std::isfinite(d.layers[48].theory_gain));  // under the plain output layer
  CHECK(std::isnan(d.theory_gain));
}

TEST_CASE("residual against plain at depth 50, width 64: the plain stack vanishes, the residual "
          "one keeps gain 1") {
  // ReLU with Xavier weights (variance 1/n): each plain layer halves the gradient's energy.
  auto plain = post_network<double>(deep(Activation::Relu, Init::xavier_uniform()));
  const Diagnosis p = diagnose_pass(plain);
  CHECK(p.verdict == Verdict::Vanishing);
  CHECK(p.measured_gain == Approx(0.707).margin(0.03));
  CHECK(p.total_gain < 1e-6);

  ResidualMlp<double> residual(deep(Activation::Relu, Init::xavier_uniform()));
  const Diagnosis r = diagnose_pass(residual);
  CHECK(r.verdict == Verdict::Stable);
  CHECK(r.measured_gain == Approx(1).margin(0.03));
  CHECK(r.total_gain > 0.05);
  CHECK(r.total_gain < 20);
}

TEST_CASE("layer norm: a deep tanh stack that vanishes plain keeps its gradient within a band") {
  // N(0, 0.1) weights at width 64: σ_w² = 0.64, the plain tanh stack loses ~22% per layer.
  auto plain = post_network<double>(deep(Activation::Tanh, Init::normal(0, 0.1)));
  const Diagnosis p = diagnose_pass(plain);
  CHECK(p.verdict == Verdict::Vanishing);
  CHECK(spread(p) > 1e5);

  auto normed = post_network<double>(deep(Activation::Tanh, Init::normal(0, 0.1), Norm::Layer));
  const Diagnosis n = diagnose_pass(normed);
  CHECK(n.verdict == Verdict::Stable);
  CHECK(spread(n) < 100);  // gain ≈ 1.08 per layer: ~40 over 49 units, against > 1e5 plain
  CHECK(std::isnan(n.theory_gain));  // z = LayerNorm(Wa + b): the mean-field formula does not apply
}

TEST_CASE("layer norm: each sample's features come out with mean 0 and variance 1") {
  Matrix<double> h(4, 3);
  h << 1, -2, 10, 2, 0, 20, 3, 2, 30, 6, 4, 41;
  LayerNorm<double> norm(4);
  Graph<double> g;
  const Matrix<double> y = norm.forward(g.constant(h, "h")).value();
  for (Eigen::Index j = 0; j < y.cols(); ++j) {
    CHECK(y.col(j).mean() == Approx(0).margin(1e-12));
    CHECK(y.col(j).squaredNorm() / 4 == Approx(1).epsilon(1e-4));  // ε = 1e-5 in the variance
  }
  CHECK_THROWS_WITH(norm.forward(g.constant(Matrix<double>::Ones(3, 2), "x")),
                    Catch::Contains("expected 4 rows"));
  CHECK_THROWS_WITH(LayerNorm<double>(1), Catch::Contains("at least 2"));
}

TEST_CASE("multi-class: softmax cross-entropy on three generated classes is (p - y)/m") {
  GaussianClasses spec;
  spec.means = {Eigen::Vector2d(0, 0), Eigen::Vector2d(4, 0), Eigen::Vector2d(0, 4)};
  spec.per_class = 20;
  spec.seed = 3;
  const Dataset data = gaussian_classes(spec);
  REQUIRE(data.samples() == 60);
  CHECK(data.y(0, 0) == 0);
  CHECK(data.y(0, 59) == 2);

  Rng rng(5);
  Graph<double> g;
  const auto x = g.constant(data.x, "x");
  const auto w = g.variable(initialize<double>(Init::xavier_uniform(), 3, 2, 2, 3, rng), "w");
  const auto b = g.variable(Matrix<double>::Zero(3, 1), "b");
  const auto logits = (matmul(w, x) + b).named("logits");
  const auto loss = cross_entropy(logits, g.constant(data.y, "labels"));
  const Derivation<double> by_hand = [](const ForwardPass<double>& f) {
    const Matrix<double> z = f.value("logits"), x = f.value("x"), labels = f.value("labels");
    const double m = double(z.cols());
    const Eigen::ArrayXXd e = (z.rowwise() - z.colwise().maxCoeff()).array().exp();
    Matrix<double> dz = (e.rowwise() / e.colwise().sum()).matrix();  // p
    for (Eigen::Index j = 0; j < z.cols(); ++j) dz(Eigen::Index(labels(0, j)), j) -= 1;  // − y
    dz /= m;
    return std::vector<HandGradient<double>>{
        {"logits", dz}, {"w", dz * x.transpose()}, {"b", dz.rowwise().sum()}};
  };
  const DerivationReport report = check_derivation(g, loss, by_hand);
  CHECK(report.agrees());
  REQUIRE(report.nodes.size() == 3);
  for (const auto& n : report.nodes) CHECK(n.autodiff_fd_rel_error < 1e-6);

  CHECK_THROWS_WITH(gaussian_classes({{Eigen::Vector2d(0, 0)}, 1, 10, 0}),
                    Catch::Contains("need at least 2"));
}
