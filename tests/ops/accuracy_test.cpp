// softplus and bce_with_logits compute ln(1 + e⁻|ˣ|) with log1p, so that the term keeps its
// precision where it is far below 1 (e⁻⁴⁰ ≈ 4.2e-18, which ln(1 + u) would round to 0): both ops
// agree with a long-double reference to a few ulps across the range of double.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <gradscope/autodiff/functions.hpp>
#include <gradscope/ops/vector_math.hpp>
#include <limits>
#include <random>
#include <utility>
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

// The function both ops call, at many points: its vectorised version (AVX2 or AVX-512, where the CPU has it)
// keeps within a few ulps of the long-double reference everywhere, including where e⁻|ˣ| is
// subnormal or 0, and passes NaN and infinities on as ln(1 + e⁻|ˣ|) does.
TEST_CASE("log1p_exp_neg_abs agrees with a long-double reference at 10^5 points",
          "[ops][accuracy]") {
  std::vector<double> xs;
  for (double x = 0; x < 746; x += 0.0076) xs.push_back(x);    // e⁻ˣ down to 0
  for (double x = 1e-300; x < 1; x *= 1.02) xs.push_back(-x);  // near 0, either sign
  for (double x : {709.0, 720.0, 744.0, 745.1, 745.2, 746.0, 800.0}) xs.push_back(x);  // subnormal
  std::vector<double> got(xs.size());
  ops::vec::log1p_exp_neg_abs(xs.data(), got.data(), xs.size());
  double worst = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const long double want = log1p_exp_reference(xs[k]);
    // in units of the last place at the reference (the smallest subnormal where it rounds to 0)
    const double ulp = std::max(std::nextafter(double(want), 1.0) - double(want),
                                std::numeric_limits<double>::denorm_min());
    const double err = double(std::fabs(got[k] - want)) / ulp;
    worst = std::max(worst, err);
    INFO("x = " << xs[k] << ": " << got[k] << ", reference " << double(want));
    REQUIRE(err <= 3);
  }
  INFO("worst " << worst << " ulp");
  CHECK(worst > 0);  // the comparison above saw rounding, not a copy of the reference

  const double nan = std::numeric_limits<double>::quiet_NaN(),
               inf = std::numeric_limits<double>::infinity();
  std::vector<double> special{nan, inf, -inf, nan, 0.0, -0.0, nan, 1.0};  // vector and tail lanes
  ops::vec::log1p_exp_neg_abs(special.data(), special.data(), special.size());  // in place
  CHECK(std::isnan(special[0]));
  CHECK(special[1] == 0);
  CHECK(special[2] == 0);
  CHECK(std::isnan(special[3]));
  CHECK(special[4] == double(std::log1p(1.0L)));
  CHECK(special[5] == double(std::log1p(1.0L)));
  CHECK(std::isnan(special[6]));
  CHECK(std::fabs(special[7] - double(log1p_exp_reference(1.0L))) <= 4e-16);

  // float: computed in double, rounded once
  std::vector<float> xf{0.0f, 0.5f, 3.0f, -17.0f, 88.0f, 104.0f, 200.0f}, yf(xf.size());
  ops::vec::log1p_exp_neg_abs(xf.data(), yf.data(), xf.size());
  for (std::size_t k = 0; k < xf.size(); ++k) {
    INFO("x = " << xf[k]);
    CHECK(yf[k] == float(log1p_exp_reference(xf[k])));
  }
}

// exp and σ, which the exp, sigmoid, softplus and bce_with_logits kernels call on whole arrays:
// within a few ulps of long double across the range where the result is a normal double, exact
// at the ends of the range, and NaN passed on.
TEST_CASE("vec::exp and vec::sigmoid agree with a long-double reference at 10^5 points",
          "[ops][accuracy]") {
  std::vector<double> xs;
  for (double x = -708; x < 709.7; x += 0.0143) xs.push_back(x);
  for (double x = 1e-300; x < 1; x *= 1.05) {
    xs.push_back(x);
    xs.push_back(-x);
  }
  std::vector<double> e(xs.size()), s(xs.size());
  ops::vec::exp(xs.data(), e.data(), xs.size());
  ops::vec::sigmoid(xs.data(), s.data(), xs.size());
  auto ulps = [](double got, long double want) {
    const double ulp = std::nextafter(double(want), HUGE_VAL) - double(want);
    return double(std::fabs(got - want)) / ulp;
  };
  double worst_exp = 0, worst_sigmoid = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const long double x = xs[k], want_e = std::exp(x), want_s = 1 / (1 + std::exp(-x));
    INFO("x = " << xs[k] << ": exp " << e[k] << " (" << double(want_e) << "), sigmoid " << s[k]
                << " (" << double(want_s) << ")");
    worst_exp = std::max(worst_exp, ulps(e[k], want_e));
    worst_sigmoid = std::max(worst_sigmoid, ulps(s[k], want_s));
    REQUIRE(ulps(e[k], want_e) <= 2);
    REQUIRE(ulps(s[k], want_s) <= 3);
  }
  INFO("worst: exp " << worst_exp << " ulp, sigmoid " << worst_sigmoid << " ulp");
  CHECK(worst_exp > 0);

  const double nan = std::numeric_limits<double>::quiet_NaN(),
               inf = std::numeric_limits<double>::infinity();
  // The same special values through the vector lanes (one call on all 8) and through the scalar
  // loop that takes the last n mod 4 elements (one call per element).
  const std::vector<double> v{nan, inf, -inf, 800.0, -800.0, -745.5, 709.9, -744.0};
  for (const bool lanes : {true, false}) {
    std::vector<double> ev(v.size()), sv(v.size());
    for (std::size_t k = 0; k < v.size(); k += lanes ? v.size() : 1) {
      const std::size_t n = lanes ? v.size() : 1;
      ops::vec::exp(v.data() + k, ev.data() + k, n);
      ops::vec::sigmoid(v.data() + k, sv.data() + k, n);
    }
    INFO((lanes ? "lanes" : "scalar loop"));
    CHECK(std::isnan(ev[0]));
    CHECK(ev[1] == inf);
    CHECK(ev[2] == 0);
    CHECK(ev[3] == inf);
    CHECK(ev[4] == 0);
    CHECK(ev[5] == 0);                          // e^-745.5 rounds to 0
    CHECK(ev[6] == inf);                        // past the largest double
    CHECK(ev[7] == double(std::exp(-744.0L)));  // subnormal
    CHECK(std::isnan(sv[0]));
    CHECK(sv[1] == 1);
    CHECK(sv[2] == 0);
    CHECK(sv[3] == 1);
    CHECK(sv[4] == 0);
  }

  std::vector<float> xf{-100.0f, -87.0f, -1.5f, 0.0f, 0.25f, 88.0f, 89.0f}, ef(xf.size()),
      sf(xf.size());
  ops::vec::exp(xf.data(), ef.data(), xf.size());
  ops::vec::sigmoid(xf.data(), sf.data(), xf.size());
  for (std::size_t k = 0; k < xf.size(); ++k) {
    INFO("x = " << xf[k]);
    CHECK(ef[k] == float(std::exp((long double)xf[k])));
    CHECK(sf[k] == float(1 / (1 + std::exp(-(long double)xf[k]))));
  }
}

// bce_with_logits' forward sums ln(1 + e⁻|ᶻ|) as the logarithm of a product: within a few ulps of
// the long-double sum where the terms are large, mixed and all tiny, over lengths that end
// mid-vector and span several of its blocks; NaN passed on, ±Inf adding nothing.
TEST_CASE("sum_log1p_exp_neg_abs agrees with a long-double sum", "[ops][accuracy]") {
  std::mt19937_64 rng(7);
  const std::pair<double, double> ranges[] = {{-50, 50}, {-3, 3}, {40, 700}};  // e⁻⁷⁰⁰ is normal
  for (const std::size_t n : {std::size_t(3), std::size_t(1237), std::size_t(100003)})
    for (const auto& [lo, hi] : ranges) {
      std::uniform_real_distribution<double> uniform(lo, hi);
      std::vector<double> x(n);
      for (double& v : x) v = uniform(rng);
      long double want = 0;
      for (double v : x) want += log1p_exp_reference(v);
      const double got = ops::vec::sum_log1p_exp_neg_abs(x.data(), n);
      INFO(n << " elements in [" << lo << ", " << hi << "]: " << got << ", reference "
             << double(want));
      CHECK(std::fabs(got - want) <= 4 * std::numeric_limits<double>::epsilon() * want);
      // float: each element converted to double, the same sum
      const std::vector<float> xf(x.begin(), x.end());
      long double want_f = 0;
      for (float v : xf) want_f += log1p_exp_reference(v);
      CHECK(std::fabs(ops::vec::sum_log1p_exp_neg_abs(xf.data(), n) - want_f) <=
            4 * std::numeric_limits<double>::epsilon() * want_f);
    }
  const double nan = std::numeric_limits<double>::quiet_NaN(),
               inf = std::numeric_limits<double>::infinity();
  std::vector<double> special(21, 0.0);  // ln 2 each
  special[3] = inf;
  special[20] = -inf;  // in the tail after the last full vector
  CHECK(ops::vec::sum_log1p_exp_neg_abs(special.data(), special.size()) ==
        Approx(19 * std::log(2.0)).epsilon(1e-15));
  special[7] = nan;
  CHECK(std::isnan(ops::vec::sum_log1p_exp_neg_abs(special.data(), special.size())));
  special[7] = 0;
  special[19] = nan;
  CHECK(std::isnan(ops::vec::sum_log1p_exp_neg_abs(special.data(), special.size())));
}
