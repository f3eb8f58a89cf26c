// The vectorised gradient statistics against a plain long-double loop, at every length around the
// kernel's vector steps and blocks, for double and float, with zeros, NaN and Inf anywhere.
#include <gradscope/instruments/grad_stats.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

using namespace gradscope;

namespace {

struct Reference {
  long double sum_sq = 0, sum_abs = 0, max_abs = 0;
  std::uint64_t zeros = 0, nan = 0, inf = 0;
};

template <class T>
Reference reference(const std::vector<T>& v) {
  Reference r;
  for (T x : v) {
    const long double a = std::abs(static_cast<long double>(x));
    if (std::isnan(a)) {
      ++r.nan;
    } else if (std::isinf(a)) {
      ++r.inf;
    } else {
      r.sum_sq += a * a;
      r.sum_abs += a;
      r.max_abs = std::max(r.max_abs, a);
      r.zeros += a == 0;
    }
  }
  return r;
}

// Gaussian entries of mixed sign and scale, every third one exactly zero (or minus zero).
template <class T>
std::vector<T> sample(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = i % 3 == 0 ? T(i % 2 ? -0.0 : 0.0) : T(normal(rng) * std::pow(10.0, double(i % 7) - 3));
  return v;
}

// Statistics s of v against the long-double loop (whose exponent range holds the squares of every
// double).
template <class T>
void check_sums(const GradSums& s, const std::vector<T>& v) {
  const Reference r = reference(v);
  INFO("n = " << v.size());
  CHECK(s.elements == v.size());
  CHECK(s.zeros == r.zeros);
  CHECK(s.nan == r.nan);
  CHECK(s.inf == r.inf);
  CHECK(s.max_abs == double(r.max_abs));
  const auto finite = v.size() - r.nan - r.inf;
  CHECK(s.l2 == Approx(double(std::sqrt(r.sum_sq))).epsilon(1e-13));
  CHECK(s.mean_abs == Approx(finite ? double(r.sum_abs / finite) : 0.0).epsilon(1e-13));
}

// GradSums::add and l2_norm against the long-double loop.
template <class T>
void check_against_reference(const std::vector<T>& v) {
  GradSums s;
  s.add(v.data(), v.size());
  check_sums(s, v);
  const Reference r = reference(v);
  const double norm = l2_norm(v.data(), v.size());
  if (r.nan)
    CHECK(std::isnan(norm));
  else if (r.inf)
    CHECK(norm == std::numeric_limits<double>::infinity());
  else
    CHECK(norm == s.l2);
}

// v with every entry multiplied by factor.
template <class T>
std::vector<T> scaled(std::vector<T> v, double factor) {
  for (T& x : v) x = T(double(x) * factor);
  return v;
}

}  // namespace

TEST_CASE("gradient statistics match a plain loop at every length around vectors and blocks",
          "[grad_stats]") {
  for (std::size_t n : {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 511, 512, 513, 1023, 1024, 1025, 4003}) {
    check_against_reference(sample<double>(n, unsigned(n)));
    check_against_reference(sample<float>(n, unsigned(n)));
  }
}

TEST_CASE("gradient statistics hold for entries whose squares leave the double range",
          "[grad_stats]") {
  // 1e-200 squared underflows to 0, 1e200 squared overflows: the norm must still be exact.
  for (double factor : {1e-300, 1e-200, 1e-160, 1e160, 1e200, 1e300})
    for (std::size_t n : {1, 7, 16, 4003}) {
      INFO("factor " << factor);
      check_against_reference(scaled(sample<double>(n, 5), factor));
    }
  const std::vector<double> tiny(4000, 1e-200);
  GradSums s;
  s.add(tiny.data(), tiny.size());
  CHECK(s.l2 == Approx(1e-200 * std::sqrt(4000.0)).epsilon(1e-12));
  CHECK(s.stats().rms == Approx(1e-200).epsilon(1e-12));
  auto huge = scaled(sample<double>(2000, 9), 1e300);
  huge[17] = std::numeric_limits<double>::quiet_NaN();
  check_against_reference(huge);
}

TEST_CASE("combine_norms is the norm of both parts at every scale", "[grad_stats]") {
  for (double scale : {1e-300, 1e-170, 1.0, 1e170, 1e300}) {
    INFO("scale " << scale);
    CHECK(combine_norms(3 * scale, 4 * scale) == Approx(5 * scale).epsilon(1e-15));
    CHECK(combine_norms(0, scale) == scale);
  }
  CHECK(combine_norms(0, 0) == 0);
  CHECK(std::isnan(combine_norms(1, std::numeric_limits<double>::quiet_NaN())));
}

TEST_CASE("gradient statistics set NaN and Inf aside wherever they are", "[grad_stats]") {
  for (std::size_t at : {0, 3, 8, 600, 1024, 1999}) {
    auto v = sample<double>(2000, 7);
    v[at] = std::numeric_limits<double>::quiet_NaN();
    v[(at + 5) % v.size()] = -std::numeric_limits<double>::infinity();
    check_against_reference(v);
    auto f = sample<float>(2000, 7);
    f[at] = std::numeric_limits<float>::infinity();
    check_against_reference(f);
  }
}

TEST_CASE("sums merge exactly and give the statistics", "[grad_stats]") {
  const auto v = sample<double>(1000, 3);
  GradSums whole, parts, second;
  whole.add(v.data(), v.size());
  parts.add(v.data(), 400);
  second.add(v.data() + 400, 600);
  parts.merge(second);
  CHECK(parts.elements == whole.elements);
  CHECK(parts.zeros == whole.zeros);
  CHECK(parts.max_abs == whole.max_abs);
  CHECK(parts.l2 == Approx(whole.l2).epsilon(1e-14));
  CHECK(parts.mean_abs == Approx(whole.mean_abs).epsilon(1e-14));
  const GradStats st = whole.stats();
  CHECK(st.l2 == whole.l2);
  CHECK(st.rms == Approx(whole.l2 / std::sqrt(1000.0)));
  CHECK(st.mean_abs == whole.mean_abs);
  CHECK(st.zero_share == Approx(double(whole.zeros) / 1000));
}

