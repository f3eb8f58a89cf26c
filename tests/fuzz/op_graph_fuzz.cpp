// libFuzzer harness: random graphs of ops from the op table, with random shapes and values.
//
// The input bytes choose 1-3 variable leaves (shapes up to 4x4, values from ordinary numbers to
// 1e300, inf and NaN), then up to 16 ops, each applied to earlier nodes with a random attribute,
// and whether anomaly mode is on. Ops whose operands do not fit must throw gradscope::Error and
// are dropped; anything else thrown, or any crash, is a finding. The last node is the root:
// backward runs from random weights R as the root gradient, i.e. on L = Σ R ∘ root.
//
// Where every value is finite, moderate and away from kinks and poles, and no gradient in between
// is huge, each leaf's gradient must agree with central finite differences of L; the difference
// quotient itself is trusted only where two step sizes agree and every value stays moderate at the
// probes too.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <gradscope/autodiff/autodiff.hpp>
#include <vector>

using namespace gradscope;

namespace {

struct Step {
  Op op;
  std::uint32_t a, b;  // indices into the node list (leaves first)
  double attr;
};

struct Program {
  std::vector<Matrix<double>> leaves;
  std::vector<Step> steps;
  bool anomaly = false;
};

constexpr double kSpecial[] = {0.0,  1.0,  -1.0,  0.5,   -0.5,   2.0,      -3.0,
                               1e-3, 10.0, -10.0, 1e300, -1e300, INFINITY, NAN};
// NaN: a reduction over every element (ops::Reduction::all_axes).
constexpr double kAttrs[] = {-1, 0, 1, 2, -2, 0.5, 3, -1.5, 0.01, 0.2, 1e200, NAN};

double value(FuzzedDataProvider& in) {
  if (in.ConsumeIntegralInRange(0, 3) == 0) return in.PickValueInArray(kSpecial);
  return in.ConsumeFloatingPointInRange(-4.0, 4.0);
}

// Records the program on g; returns the node handles. Operand indices are taken modulo the nodes
// recorded so far; the first time, steps that throw are dropped and the kept ones get their
// resolved indices, so that replaying the program records the same graph. A replay with a probed
// leaf can still throw where an op checks values (bce's prediction pushed out of [0, 1]): the
// Error propagates.
std::vector<Var<double>> record(Graph<double>& g, Program& p, bool first_time) {
  std::vector<Var<double>> nodes;
  for (const auto& leaf : p.leaves) nodes.push_back(g.variable(leaf));
  std::vector<Step> kept;
  for (Step s : p.steps) {
    s.a %= nodes.size();
    s.b %= nodes.size();
    try {
      nodes.push_back(op_info(s.op).arity == 1 ? g.apply(s.op, {nodes[s.a]}, s.attr)
                                               : g.apply(s.op, {nodes[s.a], nodes[s.b]}, s.attr));
      kept.push_back(s);
    } catch (const Error&) {
      if (!first_time) throw;
    }
  }
  p.steps = kept;
  return nodes;
}

constexpr double kModerate = 1e4;  // the largest value a finite-difference probe trusts

template <class M>
bool moderate(const M& v) {  // NaN and ±inf are not
  return (v.array().abs() <= kModerate).all();
}

// Where a finite-difference probe means something: every value finite and moderate, every
// gradient below 1e8, no input within 1e-3 of a kink (relu, abs, leaky_relu at 0; max where two
// elements of a line tie) or a pole (log, sqrt, pow, div at 0; bce at p = 0 or 1), and no
// cross_entropy: its labels are class indices, and a leaf nudged by h is no label (recording the
// probe would throw).
bool smooth(const Graph<double>& g) {
  for (std::uint32_t i = 0; i < g.size(); ++i) {
    const auto n = g.node(i);
    const auto v = n.value();
    if (!moderate(v)) return false;
    // A leaf's gradient is a sum of what flows back along every path, rounded to about 1e-16 of
    // its largest term: with 1e8 or more flowing through a node (pow(x / x, 1e200) sends ±2.5e199
    // back to both operands of the div, which cancel exactly only in exact arithmetic), a small
    // true gradient is lost in that rounding, in any reverse-mode engine.
    const auto d = n.grad();
    if (!d.allFinite() || d.cwiseAbs().maxCoeff() > 1e8) return false;
    if (n.arity() == 0) continue;
    const auto a = g.node(n.input(0)).value().array();
    switch (n.op()) {
      case Op::Relu:
      case Op::Abs:
      case Op::LeakyRelu:
      case Op::Log:
      case Op::Sqrt:
      case Op::Pow:
        if (a.abs().minCoeff() < 1e-3) return false;
        break;
      case Op::Div:
        if (g.node(n.input(1)).value().array().abs().minCoeff() < 1e-3) return false;
        break;
      case Op::Bce:
        if (a.minCoeff() < 1e-3 || a.maxCoeff() > 1 - 1e-3) return false;
        break;
      case Op::Max: {  // two elements of a line within 1e-3 of its largest: a tie, max's kink
        const auto in = g.node(n.input(0)).value();
        const Matrix<double> lines =
            n.attr() == 0 ? Matrix<double>(in) : Matrix<double>(in.transpose());
        for (Eigen::Index j = 0; j < lines.cols(); ++j)
          if ((lines.col(j).array() > v(j) - 1e-3).count() > 1) return false;
        break;
      }
      case Op::CrossEntropy:
        return false;
      default:
        break;
    }
  }
  return true;
}

// Printed at exit, so the log shows the checks really ran (libFuzzer prints the executions).
struct Counts {
  long graphs = 0, backward = 0, compared = 0, skipped = 0;
  ~Counts() {
    std::printf(
        "fuzz_op_graph: %ld graphs recorded, %ld backward passes, %ld gradient elements "
        "compared with finite differences (%ld skipped: quotient not converged or a probe left "
        "the moderate range)\n",
        graphs, backward, compared, skipped);
  }
} counts;

// L at the program's current leaves; NaN where a probe left an op's domain (see record) or took a
// value out of the moderate range. A value moderate at the leaves' own point may not be at a probe
// x0 ± h: scale(x, 1e200) is 0 at x0 = 0 and 1e195 at h = 1e-5. Such a node has a huge slope, or
// curvature, that no gradient shows (bce_with_logits(x, 1e200 x) sends back -x = 0 to its target)
// and that the quotients cannot resolve: both can agree on a wrong value.
double objective(Program& p, const Matrix<double>& r) {
  Graph<double> g;
  try {
    auto nodes = record(g, p, false);
    for (const auto& n : nodes)
      if (!moderate(n.value())) return std::nan("");
    return (g.node(nodes.back()).value().array() * r.array()).sum();
  } catch (const Error&) {
    return std::nan("");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Program p;
  p.anomaly = in.ConsumeBool();
  const int leaves = in.ConsumeIntegralInRange(1, 3);
  for (int k = 0; k < leaves; ++k) {
    Matrix<double> m(in.ConsumeIntegralInRange(1, 4), in.ConsumeIntegralInRange(1, 4));
    for (Eigen::Index j = 0; j < m.size(); ++j) m(j) = value(in);
    p.leaves.push_back(m);
  }
  constexpr int kFirstOp = int(Op::Param) + 1, kLastOp = int(std::size(kOpInfo)) - 1;
  const int steps = in.ConsumeIntegralInRange(1, 16);
  for (int k = 0; k < steps; ++k)
    p.steps.push_back({Op(in.ConsumeIntegralInRange(kFirstOp, kLastOp)),
                       in.ConsumeIntegral<std::uint8_t>(), in.ConsumeIntegral<std::uint8_t>(),
                       in.PickValueInArray(kAttrs)});
  Graph<double> g;
  g.set_anomaly_detection(p.anomaly);
  std::vector<Var<double>> nodes;
  try {
    nodes = record(g, p, true);
  } catch (const Error&) {
    return 0;  // anomaly mode stopped at a non-finite leaf
  }
  ++counts.graphs;
  const Var<double> root = nodes.back();
  Matrix<double> r(root.shape().rows, root.shape().cols);
  for (Eigen::Index j = 0; j < r.size(); ++j) r(j) = in.ConsumeFloatingPointInRange(-1.0, 1.0);
  try {
    g.backward(root, r);
  } catch (const Error&) {
    return 0;  // root depends on no variable, or anomaly mode found a non-finite gradient
  }
  ++counts.backward;
  if (p.anomaly || !smooth(g)) return 0;

  for (std::size_t k = 0; k < p.leaves.size(); ++k) {
    const auto ad = g.node(std::uint32_t(k)).grad();
    if (!ad.allFinite()) return 0;
    for (Eigen::Index j = 0; j < ad.size(); ++j) {
      double& x = p.leaves[k](j);
      const double x0 = x;
      auto difference = [&](double h) {
        x = x0 + h;
        const double up = objective(p, r);
        x = x0 - h;
        const double down = objective(p, r);
        x = x0;
        return (up - down) / (2 * h);
      };
      const double fd = difference(1e-5), fd2 = difference(1e-6);
      // Converged is judged on the quotients alone: scaled by a huge autodiff value too, two
      // quotients a factor of ten apart (a cliff between x0 - h and x0 + h) would pass.
      if (!std::isfinite(fd) || !std::isfinite(fd2) ||
          std::abs(fd - fd2) > 1e-5 * std::max({1.0, std::abs(fd), std::abs(fd2)})) {
        ++counts.skipped;
        continue;
      }
      const double scale = std::max({1.0, std::abs(fd), std::abs(ad(j))});
      ++counts.compared;
      if (std::abs(ad(j) - fd) > 1e-4 * scale) {
        std::fprintf(stderr,
                     "gradient mismatch: leaf %zu element %ld: autodiff %.17g, finite "
                     "difference %.17g (h=1e-5), %.17g (h=1e-6)\n",
                     k, long(j), ad(j), fd, fd2);
        for (std::uint32_t i = 0; i < g.size(); ++i)
          std::fprintf(stderr, "  node %u %s\n", i, g.node(i).name().c_str());
        std::abort();
      }
    }
  }
  return 0;
}
