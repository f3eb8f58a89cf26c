#include "gradscope/instruments/mean_field.hpp"

#include <Eigen/Eigenvalues>
#include <cmath>
#include <limits>

#include "gradscope/autodiff/error.hpp"

namespace gradscope {

namespace {
// Golub–Welsch: the nodes are the eigenvalues of the Jacobi matrix of the probabilists' Hermite
// polynomials (off-diagonal √k), the weights the squared first components of its eigenvectors.
GaussHermite make_rule() {
  constexpr auto n = Eigen::Index(kGaussHermiteNodes);
  Eigen::MatrixXd jacobi = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index k = 1; k < n; ++k) jacobi(k, k - 1) = jacobi(k - 1, k) = std::sqrt(double(k));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(jacobi);
  GaussHermite rule{};
  for (Eigen::Index i = 0; i < n; ++i) {
    // Symmetrised: node i and node n-1-i are ±x, with one weight, so odd integrands vanish exactly.
    const Eigen::Index j = n - 1 - i;
    rule.node[i] = 0.5 * (eig.eigenvalues()(i) - eig.eigenvalues()(j));
    const double wi = eig.eigenvectors()(0, i), wj = eig.eigenvectors()(0, j);
    rule.weight[i] = 0.5 * (wi * wi + wj * wj);
  }
  return rule;
}

// E[φ(√q z)²] and E[φ′(√q z)²].
struct Moments {
  double phi2 = 0, slope2 = 0;
};
Moments moments(Op act, double attr, double q) {
  const GaussHermite& rule = gauss_hermite();
  double x[kGaussHermiteNodes], y[kGaussHermiteNodes], d[kGaussHermiteNodes];
  for (std::size_t i = 0; i < kGaussHermiteNodes; ++i) x[i] = std::sqrt(q) * rule.node[i];
  ops::activation_values(act, attr, x, y, d, Eigen::Index(kGaussHermiteNodes));
  Moments m;
  for (std::size_t i = 0; i < kGaussHermiteNodes; ++i) {
    m.phi2 += rule.weight[i] * y[i] * y[i];
    m.slope2 += rule.weight[i] * d[i] * d[i];
  }
  return m;
}
}  // namespace

const GaussHermite& gauss_hermite() {
  static const GaussHermite rule = make_rule();
  return rule;
}

MeanField mean_field(Op act, double attr, double sigma_w2, double sigma_b2) {
  if (!std::isfinite(sigma_w2) || !(sigma_w2 > 0))
    fail("mean field: sigma_w2 must be finite and > 0, got {}", sigma_w2);
  if (!std::isfinite(sigma_b2) || !(sigma_b2 >= 0))
    fail("mean field: sigma_b2 must be finite and >= 0, got {}", sigma_b2);
  // The map is monotone in q, so the iteration approaches its fixed point from one side; near the
  // edge of chaos it does so slowly (q - q* ~ 1/k for tanh at σ_b² = 0), hence the many steps.
  constexpr int kSteps = 100000;
  constexpr double kUnbounded = 1e30;
  double q = 1;
  for (int k = 0; k < kSteps; ++k) {
    const double next = sigma_w2 * moments(act, attr, q).phi2 + sigma_b2;
    const bool settled = std::abs(next - q) <= 1e-14 * q || next < 1e-13;  // 0 to the slopes
    q = next;
    if (settled || q > kUnbounded) break;
  }
  MeanField mf;
  // Beyond kUnbounded the slopes are taken at the last q: their limit for large q.
  mf.chi1 = sigma_w2 * moments(act, attr, q).slope2;
  mf.q_star = q > kUnbounded ? std::numeric_limits<double>::infinity() : q;
  mf.gain = std::sqrt(mf.chi1);
  mf.depth_scale = -1 / std::log(mf.chi1);
  return mf;
}

double critical_sigma_w2(Op act, double attr, double sigma_b2) {
  // Bisection on ln σ_w²: χ₁ grows with σ_w² for every activation here. The upper end is found by
  // doubling from 1, so that the search stays where the quadrature resolves φ′ (small q*).
  auto chi = [&](double log_w2) { return mean_field(act, attr, std::exp(log_w2), sigma_b2).chi1; };
  double lo = std::log(1e-3), hi = 0;
  while (chi(hi) <= 1 && hi < std::log(1e3)) hi += std::log(2.0);
  if (!(chi(lo) < 1 && chi(hi) > 1))
    fail("no edge of chaos for {} at sigma_b2 = {}: chi1 does not cross 1 for sigma_w2 in [1e-3, 1e3]",
         kOpInfo[std::size_t(act)].name, sigma_b2);
  for (int k = 0; k < 50; ++k) {
    const double mid = 0.5 * (lo + hi);
    (chi(mid) < 1 ? lo : hi) = mid;
  }
  return std::exp(0.5 * (lo + hi));
}

}  // namespace gradscope
