#include "gradscope/instruments/mean_field.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
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

}  // namespace

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

namespace {
// Pre-activation variances above this count as unbounded: the forward signal explodes.
constexpr double kUnbounded = 1e8;

// The fixed point q* of a monotone variance map reached from q = 1: by iterating where it settles
// quickly, else by bisection (on ln q) between the last iterate and the side it moves to — toward 0
// (q* = 0 below 1e-12, or when map(q) < q down to it, e.g. tanh without bias at σ_w² <= 1) or up (+inf when
// map(q) > q up to kUnbounded, e.g. relu above σ_w² = 2, or at 2 with a bias).
template <class F>
double fixed_point(F map) {
  double q = 1;
  for (int k = 0; k < 200; ++k) {
    const double next = map(q);
    if (std::abs(next - q) <= 1e-12 * q) return next;
    if (next < 1e-12) return 0;
    if (next > kUnbounded) return std::numeric_limits<double>::infinity();
    q = next;
  }
  const bool up = map(q) > q;
  double lo = std::log(up ? q : 1e-12), hi = std::log(up ? kUnbounded : q);
  auto above = [&](double log_q) { return map(std::exp(log_q)) > std::exp(log_q); };
  if (up && above(hi)) return std::numeric_limits<double>::infinity();
  if (!up && !above(lo)) return 0;
  for (int k = 0; k < 100 && hi - lo > 1e-15; ++k) {
    const double mid = 0.5 * (lo + hi);
    (above(mid) ? lo : hi) = mid;
  }
  return std::exp(0.5 * (lo + hi));
}
}  // namespace

const GaussHermite& gauss_hermite() {
  static const GaussHermite rule = make_rule();
  return rule;
}

namespace {
void require_sigmas(double sigma_w2, double sigma_b2) {
  if (!std::isfinite(sigma_w2) || !(sigma_w2 > 0))
    fail("mean field: sigma_w2 must be finite and > 0, got {}", sigma_w2);
  if (!std::isfinite(sigma_b2) || !(sigma_b2 >= 0))
    fail("mean field: sigma_b2 must be finite and >= 0, got {}", sigma_b2);
}
}  // namespace

MeanField mean_field(Op act, double attr, double sigma_w2, double sigma_b2) {
  require_sigmas(sigma_w2, sigma_b2);
  const double q = fixed_point([&](double q) {
    return sigma_w2 * moments(act, attr, q).phi2 + sigma_b2;
  });
  MeanField mf;
  mf.q_star = q;
  // The slopes at q*, or where it is 0 or unbounded, their limit (relu's slope at 0 itself is 0).
  mf.chi1 = sigma_w2 * moments(act, attr, std::clamp(q, 1e-30, kUnbounded)).slope2;
  mf.gain = std::sqrt(mf.chi1);
  // Within the quadrature's precision of 1 (He's relu, the edge of chaos), ξ is infinite.
  mf.depth_scale = std::abs(mf.chi1 - 1) <= 1e-9 ? std::numeric_limits<double>::infinity()
                                                 : -1 / std::log(mf.chi1);
  return mf;
}

double layer_norm_gain(Op act, double attr, double sigma_w2, double sigma_b2, double width) {
  require_sigmas(sigma_w2, sigma_b2);
  const Moments m = moments(act, attr, 1);
  return std::sqrt((1 - 2 / width) * sigma_w2 * m.slope2 / (sigma_w2 * m.phi2 + sigma_b2));
}

double residual_gain(Op act, double attr, double sigma_w2, double sigma_b2, double width,
                     long blocks, bool layer_norm) {
  require_sigmas(sigma_w2, sigma_b2);
  const double beta2 = 1.0 / double(blocks);
  double q_a = 1, log_chi = 0;  // the stream's variance (unit-variance inputs); Σ ln χ over 2..L-1
  for (long l = 1; l < blocks; ++l) {
    const double q1 = sigma_w2 * q_a + sigma_b2;  // of W₁a + b₁
    const Moments m = moments(act, attr, layer_norm ? 1 : q1);
    const double back = layer_norm ? (1 - 2 / width) * sigma_w2 / q1 : sigma_w2;
    if (l >= 2) log_chi += std::log1p(beta2 * sigma_w2 * m.slope2 * back);
    q_a += beta2 * sigma_w2 * m.phi2 + sigma_b2;
  }
  return std::exp(log_chi / (2.0 * double(blocks - 2)));
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
