#pragma once
// The generic central-difference gradient checker. For one op it builds, for every test shape
// and attribute the op's kernel declares, L = Σ (op(inputs) ∘ R) with a fixed random R, runs
// backward, and compares each input's gradient with (L(x + h) - L(x - h)) / 2h element by element.
#include <gradscope/autodiff/autodiff.hpp>

#include <random>
#include <string>
#include <vector>

namespace gradscope::testing {

struct CheckResult {
  std::string case_name;  // op, shapes, attribute
  int input = 0;
  Eigen::Index element = 0;
  double autodiff = 0, numeric = 0;
  bool ok = true;
};

struct OpCases {
  int planned = 0;    // cases the kernel's test data describes
  int broadcast = 0;  // of which an operand is broadcast to a larger output
};

template <class K>
OpCases plan(Op op) {
  OpCases c;
  for (double attr : K::test_attrs)
    for (const auto& s : K::test_shapes) {
      const Shape out = K::shape(s.a, s.b, attr);
      if (out.size() == 0) continue;
      ++c.planned;
      if (op_info(op).arity == 2 && (s.a != out || s.b != out) && op != Op::Matmul) ++c.broadcast;
    }
  return c;
}

inline double sample(std::mt19937& rng, const ops::Domain& d) {
  std::uniform_real_distribution<double> u(d.lo, d.hi);
  for (;;) {
    const double x = u(rng);
    if (std::abs(x) >= d.gap) return x;
  }
}

// Runs every case of kernel K; returns one result per compared element.
template <class K>
std::vector<CheckResult> check_gradients(Op op, unsigned seed = 7) {
  constexpr double h = 1e-6, rtol = 1e-6, atol = 1e-8;
  const int arity = op_info(op).arity;
  std::mt19937 rng(seed);
  std::vector<CheckResult> results;
  for (double attr : K::test_attrs)
    for (const auto& s : K::test_shapes) {
      const Shape shapes[2] = {s.a, s.b};
      const Shape out_shape = K::shape(s.a, s.b, attr);
      if (out_shape.size() == 0) continue;
      std::vector<Matrix<double>> x(arity);
      for (int k = 0; k < arity; ++k) {
        x[k].resize(shapes[k].rows, shapes[k].cols);
        for (Eigen::Index j = 0; j < x[k].size(); ++j) x[k](j) = sample(rng, K::domain[k]);
      }
      Matrix<double> r(out_shape.rows, out_shape.cols);
      for (Eigen::Index j = 0; j < r.size(); ++j) r(j) = sample(rng, {-1, 1, 0.1});

      auto loss_of = [&](Graph<double>& g, bool variables) {
        auto leaf = [&](int k) { return variables ? g.variable(x[k]) : g.constant(x[k]); };
        Var<double> y = arity == 1 ? g.apply(op, {leaf(0)}, attr) : g.apply(op, {leaf(0), leaf(1)}, attr);
        return sum(y * g.constant(r));
      };
      Graph<double> g;
      Var<double> loss = loss_of(g, true);
      g.backward(loss);
      const std::string name = fmt::format("{} a={} b={} attr={}", op_info(op).name, s.a, s.b, attr);
      for (int k = 0; k < arity; ++k) {
        const Matrix<double> ad = g.node(std::uint32_t(k)).grad();  // inputs are nodes 0 and 1
        for (Eigen::Index j = 0; j < x[k].size(); ++j) {
          const double x0 = x[k](j);
          Graph<double> probe;
          x[k](j) = x0 + h;
          const double up = loss_of(probe, false).item();
          probe.clear();
          x[k](j) = x0 - h;
          const double down = loss_of(probe, false).item();
          x[k](j) = x0;
          const double fd = (up - down) / (2 * h);
          results.push_back({name, k, j, ad(j), fd, std::abs(ad(j) - fd) <= atol + rtol * std::abs(fd)});
        }
      }
    }
  return results;
}

}  // namespace gradscope::testing
