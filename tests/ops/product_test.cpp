// ops::product, the one general matrix product (OpenBLAS where the build has it, Eigen's kernels
// otherwise): every combination of transposes, storing and accumulating, in double and float, on
// shapes on both sides of the size below which it runs Eigen's coefficient-based product, against
// a plain triple loop in long double.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <gradscope/ops/product.hpp>
#include <limits>
#include <random>

using namespace gradscope;

namespace {

template <class T>
void check_product(Eigen::Index m, Eigen::Index n, Eigen::Index k, bool ta, bool tb,
                   bool accumulate) {
  std::mt19937 rng(unsigned(m * 131 + n * 17 + k));
  std::uniform_real_distribution<double> u(-1, 1);
  auto random = [&](Eigen::Index r, Eigen::Index c) {
    return Matrix<T>(Matrix<T>::NullaryExpr(r, c, [&] { return T(u(rng)); }));
  };
  const Matrix<T> a = ta ? random(k, m) : random(m, k), b = tb ? random(n, k) : random(k, n);
  const Matrix<T> before = random(m, n);
  Matrix<T> out = before;
  MatrixMap<T> out_map(out.data(), m, n);
  ops::product<T>(ta, ConstMatrixMap<T>(a.data(), a.rows(), a.cols()), tb,
                  ConstMatrixMap<T>(b.data(), b.rows(), b.cols()), out_map, accumulate);
  double worst = 0;
  for (Eigen::Index i = 0; i < m; ++i)
    for (Eigen::Index j = 0; j < n; ++j) {
      // The exact sum in long double, and the sum of magnitudes that bounds its rounding error.
      long double want = accumulate ? before(i, j) : 0;
      long double scale = std::fabs(want);
      for (Eigen::Index l = 0; l < k; ++l) {
        const long double term = (long double)(ta ? a(l, i) : a(i, l)) * (tb ? b(j, l) : b(l, j));
        want += term;
        scale += std::fabs(term);
      }
      worst = std::max(worst, double(std::fabs(out(i, j) - want) / (scale + 1e-300)));
    }
  INFO(m << "x" << n << "x" << k << (ta ? " aT" : "") << (tb ? " bT" : "")
         << (accumulate ? " +=" : " ="));
  CHECK(worst <= 4 * double(k + 1) * std::numeric_limits<T>::epsilon());
}

}  // namespace

TEST_CASE("ops::product: every transpose, store and accumulate, small and large", "[ops]") {
  // 3x4x5 runs coefficient by coefficient; 40x30x50 is a general product.
  for (const auto [m, n, k] : {std::array<Eigen::Index, 3>{3, 4, 5}, {40, 30, 50}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (bool accumulate : {false, true}) {
          check_product<double>(m, n, k, ta, tb, accumulate);
          check_product<float>(m, n, k, ta, tb, accumulate);
        }
}
