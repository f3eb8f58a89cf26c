// The model library's gradients on the post's network equal the post's own algorithm, computed
// independently with plain loops (post_reference.hpp), and show the post's ReLU structure.
#include "post_reference.hpp"

#include <catch2/catch.hpp>
#include <gradscope/models/models.hpp>

using namespace gradscope;
using namespace gradscope::models;
using gradscope::testing::Derivative;

namespace {

// The post's network (w = 0.8·I, output [1,1]ᵀ, b = 0) after one forward and backward pass on p.
struct Run {
  Mlp<double> net;
  Graph<double> g;
  NetworkForward<double> f;
  Run(const gradscope::testing::PostPoints& p, Activation hidden) : net(spec(hidden)) {
    const int m = int(p.y.size());
    Matrix<double> x(2, m), y(1, m);
    for (int s = 0; s < m; ++s) {
      x(0, s) = p.x[0][s];
      x(1, s) = p.x[1][s];
      y(0, s) = p.y[s];
    }
    f = net.forward(g.constant(x, "x"));
    g.backward(binary_cross_entropy(f.output(), g.constant(y, "y")));
  }
  static Mlp<double> spec(Activation hidden) {
    PostNetworkSpec s;
    s.hidden = hidden;
    return post_network<double>(s);
  }
};

// Every entry within 1e-10 of the reference, relative to the largest entry of that matrix.
void check_close(const Matrix<double>& got, const gradscope::testing::Mat& want, int layer,
                 const char* what) {
  double scale = 0;
  for (auto& row : want)
    for (double v : row) scale = std::max(scale, std::abs(v));
  REQUIRE(got.rows() == Eigen::Index(want.size()));
  for (Eigen::Index i = 0; i < got.rows(); ++i)
    for (Eigen::Index j = 0; j < got.cols(); ++j) {
      INFO(what << " layer " << layer << " [" << i << "," << j << "] got " << got(i, j) << " want "
                << want[i][j]);
      CHECK(std::abs(got(i, j) - want[i][j]) <= 1e-10 * scale);
    }
}

void check_against_reference(Activation hidden, bool sigmoid) {
  const auto p = gradscope::testing::fixed_points();
  const auto ref = gradscope::testing::post_backprop(
      p, 10, 2, 0.8, sigmoid, sigmoid ? Derivative::Logistic : Derivative::Relu);
  Run r(p, hidden);
  const double m = 20;
  for (int l = 1; l <= 10; ++l) {
    const auto& o = r.f.layers[l - 1];
    check_close(o.w.grad(), ref.dw[l], l, "dw");
    gradscope::testing::Mat db(ref.db[l].size());
    for (std::size_t j = 0; j < db.size(); ++j) db[j] = {ref.db[l][j]};
    check_close(o.b.grad(), db, l, "db");
    check_close(Matrix<double>(o.z.grad()) * m, ref.dz[l], l, "dz (x m)");
  }
}

}  // namespace

TEST_CASE("ReLU net: dz, dw, db equal the post's algorithm to 1e-10") {
  check_against_reference(Activation::Relu, false);
}

TEST_CASE("sigmoid net: dz, dw, db equal the post's algorithm with the correct σ' to 1e-10") {
  check_against_reference(Activation::Sigmoid, true);
}

TEST_CASE("ReLU net with w = 0.8·I: dz and db shrink by exactly 0.8 below layer 9, dw is flat") {
  Run r(gradscope::testing::fixed_points(), Activation::Relu);
  auto layer = [&](int l) { return r.f.layers[l - 1]; };
  for (int l = 1; l <= 8; ++l) {
    INFO("layer " << l);
    const Matrix<double> dz = layer(l).z.grad(), dz_up = layer(l + 1).z.grad();
    CHECK(dz.isApprox(0.8 * dz_up, 1e-15));
    CHECK(Matrix<double>(layer(l).b.grad())
              .isApprox(0.8 * Matrix<double>(layer(l + 1).b.grad()), 1e-15));
    CHECK(dz.norm() / dz_up.norm() == Approx(0.8).epsilon(1e-15));
  }
  for (int l = 1; l <= 8; ++l) {
    INFO("layer " << l);
    CHECK(Matrix<double>(layer(l).w.grad()).isApprox(Matrix<double>(layer(9).w.grad()), 1e-13));
  }
  // Layer 10 (one output unit, w = [1,1]ᵀ) hands both units of layer 9 the same dz.
  const Matrix<double> dz9 = layer(9).z.grad();
  CHECK(dz9.row(0) == dz9.row(1));
}
