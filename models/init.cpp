#include "gradscope/models/init.hpp"

#include <Eigen/QR>
#include <cmath>

namespace gradscope::models {

namespace {
struct Named {
  std::string_view name;
  Init init;
};
// The command line's defaults follow PyTorch's nn.init where it has one.
const Named kNamed[] = {{"zeros", Init::constant(0)},
                        {"identity", Init::scaled_identity(1)},
                        {"uniform", Init::uniform(-0.1, 0.1)},
                        {"normal", Init::normal(0, 0.1)},
                        {"xavier", Init::xavier_uniform()},
                        {"xavier_normal", Init::xavier_normal()},
                        {"he", Init::he_normal()},
                        {"he_uniform", Init::he_uniform()},
                        {"orthogonal", Init::orthogonal()}};
// Other names for the same initialisers (the papers' authors, as Keras and PyTorch call them).
const std::pair<std::string_view, std::string_view> kAliases[] = {
    {"glorot", "xavier"},
    {"glorot_uniform", "xavier"},
    {"xavier_uniform", "xavier"},
    {"glorot_normal", "xavier_normal"},
    {"kaiming", "he"},
    {"kaiming_normal", "he"},
    {"he_normal", "he"},
    {"kaiming_uniform", "he_uniform"}};
}  // namespace

Init parse_init(std::string_view name) {
  for (const auto& [alias, canonical] : kAliases)
    if (alias == name) name = canonical;
  for (const auto& n : kNamed)
    if (n.name == name) return n.init;
  fail(
      "unknown initialiser '{}' (expected zeros, identity, uniform, normal, xavier (glorot), "
      "xavier_normal (glorot_normal), he (kaiming), he_uniform (kaiming_uniform) or orthogonal)",
      name);
}

std::string describe(const Init& i) {
  switch (i.kind) {
    case Init::Kind::Constant:
      return fmt::format("constant({})", i.a);
    case Init::Kind::ScaledIdentity:
      return fmt::format("{}*I", i.a);
    case Init::Kind::Uniform:
      return fmt::format("uniform({}, {})", i.a, i.b);
    case Init::Kind::Normal:
      return fmt::format("normal(mean {}, std {})", i.a, i.b);
    case Init::Kind::XavierUniform:
      return fmt::format("xavier_uniform(gain {})", i.a);
    case Init::Kind::XavierNormal:
      return fmt::format("xavier_normal(gain {})", i.a);
    case Init::Kind::HeUniform:
      return fmt::format("he_uniform(gain {})", i.a);
    case Init::Kind::HeNormal:
      return fmt::format("he_normal(gain {})", i.a);
    case Init::Kind::Orthogonal:
      return fmt::format("orthogonal(gain {})", i.a);
  }
  return "?";
}

template <class T>
Matrix<T> initialize(const Init& init, Eigen::Index rows, Eigen::Index cols, Eigen::Index fan_in,
                     Eigen::Index fan_out, Rng& rng) {
  if (rows <= 0 || cols <= 0 || fan_in <= 0 || fan_out <= 0)
    fail("initialiser {}: empty shape {}x{} (fan-in {}, fan-out {})", describe(init), rows, cols,
         fan_in, fan_out);
  if (!std::isfinite(init.a) || !std::isfinite(init.b))
    fail("initialiser {}: parameters must be finite", describe(init));
  Matrix<double> m(rows, cols);
  auto fill_uniform = [&](double lo, double hi) {
    if (!(lo <= hi)) fail("initialiser {}: lower bound above upper bound", describe(init));
    for (Eigen::Index j = 0; j < cols; ++j)
      for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = rng.uniform(lo, hi);
  };
  auto fill_normal = [&](double mean, double stddev) {
    if (stddev < 0) fail("initialiser {}: standard deviation must be >= 0", describe(init));
    for (Eigen::Index j = 0; j < cols; ++j)
      for (Eigen::Index i = 0; i < rows; ++i) m(i, j) = mean + stddev * rng.normal();
  };
  const double fans = double(fan_in + fan_out);
  switch (init.kind) {
    case Init::Kind::Constant:
      m.setConstant(init.a);
      break;
    case Init::Kind::ScaledIdentity:
      m = init.a * Matrix<double>::Identity(rows, cols);
      break;
    case Init::Kind::Uniform:
      fill_uniform(init.a, init.b);
      break;
    case Init::Kind::Normal:
      fill_normal(init.a, init.b);
      break;
    case Init::Kind::XavierUniform: {
      const double bound = init.a * std::sqrt(6.0 / fans);
      fill_uniform(-bound, bound);
      break;
    }
    case Init::Kind::XavierNormal:
      fill_normal(0, init.a * std::sqrt(2.0 / fans));
      break;
    case Init::Kind::HeUniform: {
      const double bound = init.a * std::sqrt(6.0 / double(fan_in));
      fill_uniform(-bound, bound);
      break;
    }
    case Init::Kind::HeNormal:
      fill_normal(0, init.a * std::sqrt(2.0 / double(fan_in)));
      break;
    case Init::Kind::Orthogonal: {
      // QR of a tall normal matrix; Q's columns are orthonormal. Multiplying each column by the
      // sign of R's diagonal makes the result uniformly distributed (as PyTorch's orthogonal_).
      const bool wide = rows < cols;
      Matrix<double> g(wide ? cols : rows, wide ? rows : cols);
      for (Eigen::Index j = 0; j < g.cols(); ++j)
        for (Eigen::Index i = 0; i < g.rows(); ++i) g(i, j) = rng.normal();
      Eigen::HouseholderQR<Matrix<double>> qr(g);
      Matrix<double> q = qr.householderQ() * Matrix<double>::Identity(g.rows(), g.cols());
      const Matrix<double> r = qr.matrixQR();
      for (Eigen::Index j = 0; j < q.cols(); ++j)
        if (r(j, j) < 0) q.col(j) = -q.col(j);
      m = init.a * (wide ? Matrix<double>(q.transpose()) : q);
      break;
    }
  }
  return m.cast<T>();
}

template Matrix<double> initialize(const Init&, Eigen::Index, Eigen::Index, Eigen::Index,
                                   Eigen::Index, Rng&);
template Matrix<float> initialize(const Init&, Eigen::Index, Eigen::Index, Eigen::Index,
                                  Eigen::Index, Rng&);

}  // namespace gradscope::models
