// The vectorised gradient statistics against a plain long-double loop, at every length around the
// kernel's vector steps and blocks, for double and float, with zeros, NaN and Inf anywhere.
#include <gradscope/autodiff/grad_stats.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
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

template <class T>
void check_against_reference(const std::vector<T>& v) {
  GradSums s;
  s.add(v.data(), v.size());
  const Reference r = reference(v);
  INFO("n = " << v.size());
  CHECK(s.elements == v.size());
  CHECK(s.zeros == r.zeros);
  CHECK(s.nan == r.nan);
  CHECK(s.inf == r.inf);
  CHECK(s.max_abs == double(r.max_abs));
  CHECK(s.sum_sq == Approx(double(r.sum_sq)).epsilon(1e-13));
  CHECK(s.sum_abs == Approx(double(r.sum_abs)).epsilon(1e-13));
}

}  // namespace

TEST_CASE("gradient statistics match a plain loop at every length around vectors and blocks",
          "[grad_stats]") {
  for (std::size_t n : {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 511, 512, 513, 1023, 1024, 1025, 4003}) {
    check_against_reference(sample<double>(n, unsigned(n)));
    check_against_reference(sample<float>(n, unsigned(n)));
  }
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
  CHECK(parts.sum_sq == Approx(whole.sum_sq).epsilon(1e-14));
  const GradStats st = whole.stats();
  CHECK(st.l2 == Approx(std::sqrt(whole.sum_sq)));
  CHECK(st.rms == Approx(std::sqrt(whole.sum_sq / 1000)));
  CHECK(st.mean_abs == Approx(whole.sum_abs / 1000));
  CHECK(st.zero_share == Approx(double(whole.zeros) / 1000));
}

TEST_CASE("slope_square_sum matches a plain loop for every activation, length and type",
          "[grad_stats]") {
  const double leak = 0.01;
  auto carried = [&](Slope s, long double g, long double u) -> long double {
    switch (s) {
      case Slope::Relu: return u > 0 ? g : 0;
      case Slope::LeakyRelu: return u > 0 ? g : g * leak;
      case Slope::Sigmoid: return g * u * (1 - u);
      case Slope::Tanh: return g * (1 - u * u);
    }
    return 0;
  };
  auto check = [&](auto tag) {
    using T = decltype(tag);
    for (Slope s : {Slope::Relu, Slope::LeakyRelu, Slope::Sigmoid, Slope::Tanh})
      for (std::size_t n : {0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 33, 4003}) {
        const auto g = sample<T>(n, unsigned(n));
        auto u = sample<T>(n, unsigned(n) + 1);
        if (s == Slope::Sigmoid || s == Slope::Tanh)  // u is the activation's output
          for (T& x : u) x = T(std::tanh(double(x)));
        long double want = 0;
        for (std::size_t i = 0; i < n; ++i) {
          const long double y = carried(s, g[i], u[i]);
          want += y * y;
        }
        INFO("slope " << int(s) << ", n = " << n);
        CHECK(slope_square_sum(s, g.data(), u.data(), n, leak) ==
              Approx(double(want)).epsilon(1e-13));
      }
  };
  check(double());
  check(float());
  std::vector<double> g{1.0, std::numeric_limits<double>::quiet_NaN(), 2.0, 3.0, 4.0};
  const std::vector<double> u(g.size(), 0.5);
  CHECK_FALSE(std::isfinite(slope_square_sum(Slope::Tanh, g.data(), u.data(), g.size())));
}
