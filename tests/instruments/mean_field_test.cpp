// Mean-field theory by Gauss–Hermite quadrature against what is known in closed form: the moments
// of N(0, 1); χ₁ = σ_w²/2 for relu, σ_w²(1 + s²)/2 for leaky relu, σ_w² for the identity; the
// identity's fixed point σ_b²/(1 - σ_w²); the edge of chaos at σ_w² = 2 for relu, 1 for tanh
// without bias, and 1.76 for tanh at σ_b² = 0.05 (Schoenholz et al. 2017, Fig. 1).
#include <gradscope/instruments/mean_field.hpp>
#include <gradscope/models/activation_op.hpp>

#include <catch2/catch.hpp>
#include <cmath>

using namespace gradscope;

TEST_CASE("mean field: the Gauss-Hermite rule integrates the normal's moments", "[mean_field]") {
  const GaussHermite& rule = gauss_hermite();
  double m0 = 0, m1 = 0, m2 = 0, m4 = 0, m8 = 0;
  for (std::size_t i = 0; i < kGaussHermiteNodes; ++i) {
    const double x = rule.node[i], w = rule.weight[i];
    m0 += w, m1 += w * x, m2 += w * x * x, m4 += w * std::pow(x, 4), m8 += w * std::pow(x, 8);
    CHECK(rule.node[i] != 0);
  }
  CHECK(m0 == Approx(1).epsilon(1e-12));
  CHECK(std::abs(m1) < 1e-12);
  CHECK(m2 == Approx(1).epsilon(1e-12));
  CHECK(m4 == Approx(3).epsilon(1e-12));
  CHECK(m8 == Approx(105).epsilon(1e-10));
}

TEST_CASE("mean field: chi1 of the piecewise-linear activations", "[mean_field]") {
  for (double w2 : {0.5, 1.0, 2.0, 3.0}) {
    const MeanField relu = mean_field(Op::Relu, 0, w2, 0);
    CHECK(relu.chi1 == Approx(w2 / 2).epsilon(1e-12));
    CHECK(relu.gain == Approx(std::sqrt(w2 / 2)).epsilon(1e-12));
    const MeanField leaky = mean_field(Op::LeakyRelu, 0.2, w2, 0.1);
    CHECK(leaky.chi1 == Approx(w2 * (1 + 0.04) / 2).epsilon(1e-12));
  }
  const MeanField id = mean_field(Op::Constant, 0, 0.5, 0.3);  // the identity
  CHECK(id.chi1 == Approx(0.5).epsilon(1e-12));
  CHECK(id.q_star == Approx(0.3 / (1 - 0.5)).epsilon(1e-9));
  CHECK(id.depth_scale == Approx(-1 / std::log(0.5)).epsilon(1e-12));
  // relu at He's σ_w² = 2 keeps the input's variance: q* = 1.
  CHECK(mean_field(Op::Relu, 0, 2, 0).q_star == Approx(1).epsilon(1e-9));
  // above it, with bias, the variance grows without bound.
  CHECK(std::isinf(mean_field(Op::Relu, 0, 2.5, 0.1).q_star));
}

TEST_CASE("mean field: the edge of chaos", "[mean_field]") {
  CHECK(critical_sigma_w2(Op::Relu, 0, 0) == Approx(2).epsilon(1e-9));
  CHECK(critical_sigma_w2(Op::Constant, 0, 0) == Approx(1).epsilon(1e-9));
  CHECK(critical_sigma_w2(Op::Tanh, 0, 0) == Approx(1).epsilon(1e-6));
  // tanh without bias at σ_w² <= 1: the signal dies, q* = 0, and χ₁ = σ_w² φ′(0)² = σ_w².
  CHECK(mean_field(Op::Tanh, 0, 0.8, 0).q_star == 0);
  CHECK(mean_field(Op::Tanh, 0, 0.8, 0).chi1 == Approx(0.8).epsilon(1e-9));
  const double tanh = critical_sigma_w2(Op::Tanh, 0, 0.05);
  CHECK(tanh == Approx(1.76).margin(0.01));
  CHECK(mean_field(Op::Tanh, 0, tanh, 0.05).chi1 == Approx(1).epsilon(1e-9));
  // below the edge the gradient vanishes (χ₁ < 1, ξ > 0), above it grows.
  CHECK(mean_field(Op::Tanh, 0, 1.5, 0.05).chi1 < 1);
  CHECK(mean_field(Op::Tanh, 0, 1.5, 0.05).depth_scale > 0);
  CHECK(mean_field(Op::Tanh, 0, 2.5, 0.05).chi1 > 1);
}

TEST_CASE("mean field: the models' activations evaluate through their ops", "[mean_field]") {
  const auto op = models::activation_op(models::Activation::Sigmoid);
  // σ′ ≤ 1/4: χ₁ ≤ σ_w²/16 for any q*.
  const MeanField s = mean_field(op.op, op.attr, 4, 0);
  CHECK(s.chi1 > 0);
  CHECK(s.chi1 <= 4.0 / 16);
}

TEST_CASE("mean field: variances out of range are refused", "[mean_field]") {
  CHECK_THROWS_WITH(mean_field(Op::Tanh, 0, 0, 0), Catch::Contains("sigma_w2 must be finite and > 0"));
  CHECK_THROWS_WITH(mean_field(Op::Tanh, 0, 1, -0.1), Catch::Contains("sigma_b2 must be finite and >= 0"));
  CHECK_THROWS_WITH(mean_field(Op::Tanh, 0, NAN, 0), Catch::Contains("sigma_w2"));
}

TEST_CASE("mean field: relu at the edge of chaos with a bias has no finite fixed point", "[mean_field]") {
  // q ← q + σ_b² grows without bound, linearly.
  const MeanField mf = mean_field(Op::Relu, 0, 2, 0.05);
  CHECK(std::isinf(mf.q_star));
  CHECK(mf.chi1 == Approx(1).epsilon(1e-12));
  CHECK(std::isinf(mf.depth_scale));
}

TEST_CASE("mean field: relu below He's sigma_w2 lets the signal die but keeps its slope", "[mean_field]") {
  const MeanField mf = mean_field(Op::Relu, 0, 1, 0);
  CHECK(mf.q_star == 0);
  CHECK(mf.chi1 == Approx(0.5).epsilon(1e-12));
}

TEST_CASE("mean field: layer-normalised and residual stacks in closed form", "[mean_field]") {
  // Identity φ: E[φ′²] = E[φ²] = 1, so LN leaves the projection's 1 - 2/n and the bias's share.
  CHECK(layer_norm_gain(Op::Constant, 0, 0.5, 0, 64) == Approx(std::sqrt(1 - 2.0 / 64)).epsilon(1e-12));
  CHECK(layer_norm_gain(Op::Constant, 0, 3, 1, 64) ==
        Approx(std::sqrt((1 - 2.0 / 64) * 3 / 4)).epsilon(1e-12));
  // relu: E[φ′²]/E[φ²] = (1/2)/(1/2) at any σ_w² — the weight scale cancels.
  CHECK(layer_norm_gain(Op::Relu, 0, 0.1, 0, 1e12) == Approx(1).epsilon(1e-9));
  // relu blocks, He: χ = 1 + (1/L)·2·2·½ at every block, whatever the stream's variance.
  CHECK(residual_gain(Op::Relu, 0, 2, 0, 64, 30, false) == Approx(std::sqrt(1 + 2.0 / 30)).epsilon(1e-12));
  // Identity φ, σ_w² = 1, no bias: the stream's variance after k blocks is (1 + 1/L)^k and the
  // normalised branch's χ is 1 + (1/L)(1 - 2/n)/q_a, so it falls with depth below the plain one.
  const double plain = residual_gain(Op::Constant, 0, 1, 0, 16, 10, false);
  CHECK(plain == Approx(std::sqrt(1.1)).epsilon(1e-12));
  CHECK(residual_gain(Op::Constant, 0, 1, 0, 16, 10, true) < plain);
  CHECK_THROWS_WITH(residual_gain(Op::Relu, 0, 0, 0, 16, 10, false), Catch::Contains("sigma_w2"));
}
