// softplus and bce_with_logits compute ln(1 + e⁻|ˣ|) with log1p, so that the term keeps its
// precision where it is far below 1 (e⁻⁴⁰ ≈ 4.2e-18, which ln(1 + u) would round to 0): both ops
// agree with a long-double reference to a few ulps across the range of double.
#include <catch2/catch.hpp>
#include <cmath>
#include <gradscope/autodiff/functions.hpp>
#include <limits>
#include <vector>

using namespace gradscope;

namespace {

std::vector<double> arguments() {
  std::vector<double> xs{0.0, 36.0, 36.7, 37.5, 40.0, 100.0, 700.0};  // e⁻⁷⁰⁰ is still normal
  for (int k = -30; k <= 9; ++k) xs.push_back(std::ldexp(1.0, k));
  for (double x : std::vector<double>(xs)) xs.push_back(-x);
  return xs;
}

// ln(1 + e⁻|ˣ|), the term both ops share, in long double.
long double log1p_exp_reference(long double x) { return std::log1p(std::exp(-std::fabs(x))); }

long double softplus_reference(long double x) {
  return std::fmax(x, 0.0L) + log1p_exp_reference(x);
}

bool close(double got, long double want) {
  return std::fabs(got - want) <= 8 * std::numeric_limits<double>::epsilon() * std::fabs(want);
}

}  // namespace

TEST_CASE("softplus and bce_with_logits stay accurate where ln(1 + e^-|x|) is tiny",
          "[ops][accuracy]") {
  const std::vector<double> xs = arguments();
  Graph<double> g;
  // One row, so that the kernel runs on packets.
  const Matrix<double> row =
      Eigen::Map<const Matrix<double>>(xs.data(), 1, Eigen::Index(xs.size()));
  const auto sp = softplus(g.constant(row)).value();
  for (std::size_t k = 0; k < xs.size(); ++k) {
    INFO("softplus(" << xs[k] << ") = " << sp(0, Eigen::Index(k)) << ", reference "
                     << double(softplus_reference(xs[k])));
    CHECK(close(sp(0, Eigen::Index(k)), softplus_reference(xs[k])));
  }
  // bce_with_logits is a mean: eight equal elements per case make it exactly the element's loss.
  for (double z : xs)
    for (double y : {0.0, 0.3, 1.0}) {
      const auto loss = bce_with_logits(g.constant(Matrix<double>::Constant(1, 8, z)),
                                        g.constant(Matrix<double>::Constant(1, 8, y)));
      // Not softplus(z) - z y: at z = 700, y = 1 that would round e⁻⁷⁰⁰ away before cancelling.
      const long double want =
          std::fmax((long double)z, 0.0L) - (long double)z * y + log1p_exp_reference(z);
      INFO("bce_with_logits(" << z << ", " << y << ") = " << loss.item() << ", reference "
                              << double(want));
      CHECK(close(loss.item(), want));
    }
}
