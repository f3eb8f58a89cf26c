// The hand-derivation checker, on the post's own derivations and on small hand-made cases.
#include <catch2/catch.hpp>
#include <gradscope/models/models.hpp>

#include "post_reference.hpp"

using namespace gradscope;
using namespace gradscope::models;

namespace {

// The post's network on the fixed points, recorded and ready for check_derivation.
struct PostCase {
  Mlp<double> net;
  Graph<double> g;
  Var<double> loss;
  explicit PostCase(Activation hidden) : net(make(hidden)) {
    const auto p = gradscope::testing::fixed_points();
    Matrix<double> x(2, 20), y(1, 20);
    for (int s = 0; s < 20; ++s) {
      x(0, s) = p.x[0][s];
      x(1, s) = p.x[1][s];
      y(0, s) = p.y[s];
    }
    const auto f = net.forward(g.constant(x, "x"));
    loss = binary_cross_entropy(f.output(), g.constant(y, "y"));
  }
  static Mlp<double> make(Activation hidden) {
    PostNetworkSpec s;
    s.hidden = hidden;
    return post_network<double>(s);
  }
};

}  // namespace

TEST_CASE("the post's ReLU derivation agrees with autodiff and finite differences") {
  PostCase c(Activation::Relu);
  const auto r = check_derivation(c.g, c.loss, post_derivation(PostDerivation::Relu));
  CHECK(r.agrees());
  REQUIRE(r.nodes.size() == 30);
  CHECK(r.nodes.front().node == "layer10/z");
  for (const auto& n : r.nodes) {
    INFO(n.node);
    CHECK(n.max_rel_error < 1e-12);
    CHECK(n.autodiff_fd_rel_error < 1e-6);
  }
}

TEST_CASE("the post's sigmoid derivation as published is wrong from layer9/z down") {
  PostCase c(Activation::Sigmoid);
  const auto r = check_derivation(c.g, c.loss, post_derivation(PostDerivation::SigmoidAsPublished));
  REQUIRE(r.first_wrong);
  const auto& first = r.nodes[*r.first_wrong];
  CHECK(first.node == "layer9/z");
  // Layer 10 is right; every node of layers 1-9 is wrong.
  for (const auto& n : r.nodes) {
    INFO(n.node);
    CHECK(n.agrees == (n.node.rfind("layer10/", 0) == 0));
  }
  // relu_gradient is 1 where σ' ≤ 1/4: the hand dz is at least 4x the true one at layer 9, and the
  // factor compounds toward the input, where the reference (plain loops) gives the truth.
  CHECK(first.factor > 4);
  const auto ref =
      gradscope::testing::post_backprop(gradscope::testing::fixed_points(), 10, 2, 0.8, true,
                                        gradscope::testing::Derivative::Logistic);
  const auto bug = gradscope::testing::post_backprop(gradscope::testing::fixed_points(), 10, 2, 0.8,
                                                     true, gradscope::testing::Derivative::Relu);
  auto norm = [](const gradscope::testing::Mat& m) {
    double s = 0;
    for (auto& r : m)
      for (double v : r) s += v * v;
    return std::sqrt(s);
  };
  for (const auto& n : r.nodes) {
    if (n.node.size() < 8 || n.node.substr(n.node.size() - 2) != "/z") continue;
    const int l = std::stoi(n.node.substr(5));
    INFO(n.node);
    CHECK(n.factor == Approx(norm(bug.dz[l]) / norm(ref.dz[l])).epsilon(1e-9));
    // Finite differences side with autodiff; their rounding noise (~1e-16·loss/h) is a visible
    // share of the tiny true gradients of layers 1-2 (~1e-9), hence the looser bound there.
    CHECK(n.autodiff_fd_rel_error < (l >= 3 ? 1e-3 : 1e-2));
    if (l < 10) CHECK(n.fd_max_rel_error == Approx(n.max_rel_error).epsilon(1e-2));
  }
  CHECK(r.nodes.back().node == "layer1/w");
}

TEST_CASE("the corrected sigmoid derivation agrees") {
  PostCase c(Activation::Sigmoid);
  const auto r = check_derivation(c.g, c.loss, post_derivation(PostDerivation::SigmoidCorrected));
  CHECK(r.agrees());
  for (const auto& n : r.nodes) CHECK(n.max_rel_error < 1e-9);
}

TEST_CASE("hand gradients as values: a diamond, errors named") {
  Graph<double> g;
  auto x = g.variable(Matrix<double>::Constant(1, 1, 3.0), "x");
  auto y = (x * x).named("y");
  auto loss = sum(y * x).named("loss");  // x³: dL/dy = x, dL/dx = 3x²
  const auto ok = check_derivation<double>(
      g, loss,
      {{"x", Matrix<double>::Constant(1, 1, 27.0)}, {"y", Matrix<double>::Constant(1, 1, 3.0)}});
  CHECK(ok.agrees());
  CHECK(ok.nodes[0].node == "y");  // backward order: y before x
  Graph<double> g2;
  auto x2 = g2.variable(Matrix<double>::Constant(1, 1, 3.0), "x");
  auto loss2 = sum((x2 * x2).named("y") * x2);
  const auto wrong =
      check_derivation<double>(g2, loss2, {{"x", Matrix<double>::Constant(1, 1, 18.0)}});
  REQUIRE(wrong.first_wrong);
  CHECK(wrong.nodes[0].factor == Approx(18.0 / 27.0));
  CHECK(wrong.nodes[0].fd_max_abs_error == Approx(9.0).epsilon(1e-6));

  Graph<double> g3;
  auto x3 = g3.variable(Matrix<double>::Ones(2, 2), "x");
  auto l3 = sum(x3);
  CHECK_THROWS_WITH(check_derivation<double>(g3, l3, {{"nope", Matrix<double>::Ones(1, 1)}}),
                    Catch::Contains("no node named 'nope'"));
  CHECK_THROWS_WITH(check_derivation<double>(g3, l3, {{"x", Matrix<double>::Ones(1, 2)}}),
                    Catch::Contains("hand gradient of 'x' is 1x2, the node is 2x2"));
  CHECK_THROWS_WITH(parse_post_derivation("post-tanh"), Catch::Contains("unknown derivation"));
}

TEST_CASE("a flipped sign reads as one: cosine -1, relative error 2, norm ratio 1") {
  Graph<double> g;
  Matrix<double> xv(1, 3);
  xv << 1, -2, 3;
  auto x = g.variable(xv, "x");
  auto loss = sum(x * x).named("loss");  // dL/dx = 2x
  CheckOptions o;
  o.finite_differences = false;
  const auto r = check_derivation<double>(g, loss, {{"x", -2 * xv}}, o);
  REQUIRE(r.first_wrong);
  const NodeCheck& n = r.nodes[*r.first_wrong];
  CHECK(n.factor == 1.0);
  CHECK(n.cosine == Approx(-1.0));
  CHECK(n.rel_error == Approx(2.0));
  // The printer says so, and leaves out the finite-difference columns it has no numbers for.
  const std::string text = format_report(r, "flipped");
  CHECK_THAT(text, Catch::Contains("flipped: DISAGREES with autodiff at 1 of 1 nodes. First wrong "
                                   "node in backward order: x (opposite sign, 1x autodiff's norm, "
                                   "relative error 2)."));
  CHECK_THAT(text, !Catch::Contains("vs FD"));
  // Half the gradient: same direction, half the norm.
  const auto half = check_derivation<double>(g, loss, {{"x", xv}}, o);
  CHECK(half.nodes[0].cosine == Approx(1.0));
  CHECK(half.nodes[0].rel_error == Approx(0.5));
  CHECK_THAT(format_report(half), Catch::Contains("x (same direction, 0.5x autodiff's norm, "
                                                  "relative error 0.5)."));
  const auto right = check_derivation<double>(g, loss, {{"x", 2 * xv}});
  CHECK(right.nodes[0].rel_error == 0.0);
  const std::string ok = format_report(right);
  CHECK_THAT(ok, Catch::Contains("hand vs FD") &&
                     Catch::EndsWith("agrees with autodiff at all 1 nodes (rtol 1e-06).\n"));
}
