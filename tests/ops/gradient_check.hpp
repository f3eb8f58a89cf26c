#pragma once
// The generic central-difference gradient checker. For one op it builds, for every test shape
// and attribute the op's kernel declares, L = Σ (op(inputs) ∘ R) with a fixed random R, runs
// backward, and compares each input's gradient with (L(x + h) - L(x - h)) / 2h element by element.
// Each case runs in three arrangements, since a kernel must add into its inputs' gradients: the op
// as its inputs' only consumer; with L += Σ (input_k ∘ S_k) recorded after the op, so that
// backward reaches those terms first and the op's kernel adds onto their contribution; and, for a
// binary op whose operands have one shape, op(x, x), whose two gradients land in one slot. Each
// runs backward twice, after a pass from another root has left other values in the inputs'
// gradient slots, so a kernel told to store (ops::stores_first) must overwrite every element. A
// whole-number input (class labels, ops::Domain::whole) is a constant and is not differentiated.
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
  if (d.whole) return std::uniform_int_distribution<int>(int(d.lo), int(d.hi) - 1)(rng);
  std::uniform_real_distribution<double> u(d.lo, d.hi);
  for (;;) {
    const double x = u(rng);
    if (std::abs(x) >= d.gap) return x;
  }
}

enum class Arrangement { Alone, AfterOthers, Twice };
inline constexpr Arrangement kArrangements[] = {Arrangement::Alone, Arrangement::AfterOthers,
                                                Arrangement::Twice};
inline const char* name_of(Arrangement a) {
  return a == Arrangement::Alone         ? "alone"
         : a == Arrangement::AfterOthers ? "after others"
                                         : "op(x, x)";
}

// Runs every case of kernel K; returns one result per compared element.
template <class K>
std::vector<CheckResult> check_gradients(Op op, unsigned seed = 7) {
  constexpr double h = 1e-6, rtol = 1e-6, atol = 1e-8;
  const int arity = op_info(op).arity;
  std::mt19937 rng(seed);
  std::vector<CheckResult> results;
  for (const Arrangement arrangement : kArrangements)
    for (double attr : K::test_attrs)
      for (const auto& s : K::test_shapes) {
        const bool twice = arrangement == Arrangement::Twice;
        if (twice && (arity == 1 || s.a != s.b)) continue;
        const Shape shapes[2] = {s.a, s.b};
        const Shape out_shape = K::shape(s.a, s.b, attr);
        if (out_shape.size() == 0) continue;
        const int inputs = twice ? 1 : arity;
        std::vector<Matrix<double>> x(inputs), other(inputs);
        for (int k = 0; k < inputs; ++k) {
          x[k].resize(shapes[k].rows, shapes[k].cols);
          for (Eigen::Index j = 0; j < x[k].size(); ++j) x[k](j) = sample(rng, K::domain[k]);
          other[k].resize(shapes[k].rows, shapes[k].cols);
          for (Eigen::Index j = 0; j < other[k].size(); ++j) other[k](j) = sample(rng, {-1, 1, 0});
        }
        Matrix<double> r(out_shape.rows, out_shape.cols);
        for (Eigen::Index j = 0; j < r.size(); ++j) r(j) = sample(rng, {-1, 1, 0.1});

        auto loss_of = [&](Graph<double>& g, bool variables,
                           std::vector<Var<double>>* recorded = nullptr) {
          std::vector<Var<double>> in;
          for (int k = 0; k < inputs; ++k)
            in.push_back(variables && !K::domain[k].whole ? g.variable(x[k]) : g.constant(x[k]));
          Var<double> y = arity == 1 ? g.apply(op, {in[0]}, attr)
                                     : g.apply(op, {in[0], in[twice ? 0 : 1]}, attr);
          Var<double> loss = sum(y * g.constant(r));
          if (arrangement == Arrangement::AfterOthers)
            for (int k = 0; k < inputs; ++k) loss = loss + sum(in[k] * g.constant(other[k]));
          if (recorded) *recorded = in;
          return loss;
        };
        Graph<double> g;
        std::vector<Var<double>> in;
        Var<double> loss = loss_of(g, true, &in);
        // Another root's pass first leaves 1000 in every element of the inputs' slots: a store
        // that misses an element shows it.
        Var<double> stale = g.constant(0.0);
        for (int k = 0; k < inputs; ++k)
          if (!K::domain[k].whole) stale = stale + sum(in[k] * 1000.0);
        g.backward(stale);
        // Twice: the second pass finds the first one's gradients in the slots, so a kernel that
        // adds where the engine told it to store (ops::stores_first) doubles them.
        g.backward(loss);
        g.backward(loss);
        const std::string name = fmt::format("{} a={} b={} attr={} ({})", op_info(op).name, s.a,
                                             s.b, attr, name_of(arrangement));
        for (int k = 0; k < inputs; ++k) {
          if (K::domain[k].whole) continue;
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
            results.push_back(
                {name, k, j, ad(j), fd, std::abs(ad(j) - fd) <= atol + rtol * std::abs(fd)});
          }
        }
      }
  return results;
}

}  // namespace gradscope::testing
