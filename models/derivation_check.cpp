#include "gradscope/models/derivation_check.hpp"

#include <algorithm>
#include <cmath>
#include <gradscope/autodiff/functions.hpp>
#include <gradscope/instruments/grad_stats.hpp>
#include <limits>

namespace gradscope::models {

namespace {
constexpr std::uint32_t kAmbiguous = std::numeric_limits<std::uint32_t>::max();
}

template <class T>
ForwardPass<T>::ForwardPass(const Graph<T>& g) : graph_(g) {
  for (std::uint32_t i = 0; i < g.size(); ++i) {
    auto [it, fresh] = index_.emplace(g.node(i).name(), i);
    if (!fresh) it->second = kAmbiguous;
  }
}

template <class T>
std::uint32_t ForwardPass<T>::index(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) fail("derivation: the graph has no node named '{}'", name);
  if (it->second == kAmbiguous) fail("derivation: several nodes are named '{}'", name);
  return it->second;
}

namespace {

// The loss recomputed with node `target`'s value replaced: nodes up to target become constants
// holding their recorded values, later ones are re-recorded op by op from the originals.
template <class T>
T replay_loss(const Graph<T>& g, std::uint32_t root, std::uint32_t target, const Matrix<T>& value) {
  Graph<T> r;
  auto guard = r.no_grad();
  std::vector<Var<T>> map(root + 1);
  for (std::uint32_t i = 0; i <= root; ++i) {
    const NodeView<T> n = g.node(i);
    if (i == target)
      map[i] = r.constant(value);
    else if (i < target || is_leaf(n.op()))
      map[i] = r.constant(Matrix<T>(n.value()));
    else if (n.arity() == 1)
      map[i] = r.apply(n.op(), {map[n.input(0)]}, n.attr());
    else
      map[i] = r.apply(n.op(), {map[n.input(0)], map[n.input(1)]}, n.attr());
  }
  return map[root].item();
}

template <class T>
Matrix<T> finite_differences(const Graph<T>& g, std::uint32_t root, std::uint32_t target,
                             double step) {
  Matrix<T> v = g.node(target).value();
  Matrix<T> d(v.rows(), v.cols());
  for (Eigen::Index k = 0; k < v.size(); ++k) {
    const T x = v(k);
    const T h = T(step * std::max(1.0, std::abs(double(x))));
    v(k) = x + h;
    const T up = replay_loss(g, root, target, v);
    v(k) = x - h;
    const T down = replay_loss(g, root, target, v);
    v(k) = x;
    d(k) = (up - down) / (T(2) * h);
  }
  return d;
}

double max_abs(const Eigen::MatrixXd& m) { return m.size() ? m.cwiseAbs().maxCoeff() : 0.0; }
double ratio(double num, double den) {
  if (den > 0) return num / den;
  return num > 0 ? std::numeric_limits<double>::infinity() : 0.0;
}

// Of the two gradients, from their norms; each scaled to unit length first, so that gradients
// near the ends of double's range neither overflow nor underflow the product.
double cosine(const Eigen::MatrixXd& a, double a_norm, const Eigen::MatrixXd& b, double b_norm) {
  if (a_norm == 0 && b_norm == 0) return 1;
  if (a_norm == 0 || b_norm == 0) return 0;
  return std::clamp((a / a_norm).cwiseProduct(b / b_norm).sum(), -1.0, 1.0);
}

}  // namespace

template <class T>
DerivationReport check_derivation(Graph<T>& g, Var<T> loss, const Derivation<T>& derivation,
                                  const CheckOptions& o) {
  const ForwardPass<T> pass(g);
  const auto hand = derivation(pass);  // from the forward values only, before backward
  g.backward(loss);
  const std::uint32_t root = loss.index();
  DerivationReport report;
  report.options = o;
  for (const auto& h : hand) {
    NodeCheck c;
    c.node = h.node;
    c.index = pass.index(h.node);
    const NodeView<T> n = g.node(c.index);
    if (Shape{std::uint32_t(h.grad.rows()), std::uint32_t(h.grad.cols())} != n.shape())
      fail("derivation: hand gradient of '{}' is {}x{}, the node is {}", h.node, h.grad.rows(),
           h.grad.cols(), n.shape());
    const Eigen::MatrixXd hd = h.grad.template cast<double>();
    const Eigen::MatrixXd ad = Matrix<T>(n.grad()).template cast<double>();
    c.hand_norm = l2_norm(hd);
    c.autodiff_norm = l2_norm(ad);
    c.factor = c.hand_norm == c.autodiff_norm ? 1.0 : ratio(c.hand_norm, c.autodiff_norm);
    c.cosine = cosine(hd, c.hand_norm, ad, c.autodiff_norm);
    c.rel_error = ratio(l2_norm(Eigen::MatrixXd(hd - ad)), c.autodiff_norm);
    c.max_abs_error = max_abs(hd - ad);
    c.max_rel_error = ratio(c.max_abs_error, max_abs(ad));
    c.agrees = c.max_abs_error <= o.atol + o.rtol * max_abs(ad);
    c.fd_max_abs_error = c.fd_max_rel_error = c.autodiff_fd_rel_error =
        std::numeric_limits<double>::quiet_NaN();
    if (o.finite_differences) {
      const Eigen::MatrixXd fd =
          finite_differences(g, root, c.index, o.fd_step).template cast<double>();
      c.fd_norm = l2_norm(fd);
      c.fd_max_abs_error = max_abs(hd - fd);
      c.fd_max_rel_error = ratio(c.fd_max_abs_error, max_abs(fd));
      c.autodiff_fd_rel_error = ratio(max_abs(ad - fd), max_abs(fd));
    }
    report.nodes.push_back(std::move(c));
  }
  std::sort(report.nodes.begin(), report.nodes.end(),
            [](const NodeCheck& a, const NodeCheck& b) { return a.index > b.index; });
  for (std::size_t i = 0; i < report.nodes.size() && !report.first_wrong; ++i)
    if (!report.nodes[i].agrees) report.first_wrong = i;
  return report;
}

template <class T>
DerivationReport check_derivation(Graph<T>& g, Var<T> loss, std::vector<HandGradient<T>> values,
                                  const CheckOptions& o) {
  return check_derivation<T>(
      g, loss, Derivation<T>([v = std::move(values)](const ForwardPass<T>&) { return v; }), o);
}

// --- the report as text
// ------------------------------------------------------------------------------

namespace {
// Differences at the level of rounding print as such rather than as noise digits.
std::string error_cell(double x) {
  if (std::isnan(x)) return "-";
  if (x < 1e-10) return "<1e-10";
  return fmt::format("{:.2e}", x);
}

std::string discrepancy(const NodeCheck& n) {
  std::string kind;
  if (n.cosine <= -0.9999)
    kind = "opposite sign";
  else if (n.cosine >= 0.9999)
    kind = "same direction";
  else
    kind = fmt::format("another direction, cosine {:.3f}", n.cosine);
  return fmt::format("{}, {:.6g}x autodiff's norm, relative error {:.3g}", kind, n.factor,
                     n.rel_error);
}
}  // namespace

std::string format_report(const DerivationReport& r, std::string_view title) {
  const bool fd = r.options.finite_differences;
  std::size_t w = 4;
  for (const auto& n : r.nodes) w = std::max(w, n.node.size());
  std::string s = fmt::format("{:<{}}  {:>8}  {:>10}  {:>9}  {:>7}  {:>8}", "node", w, "|hand|",
                              "|autodiff|", "ratio", "cosine", "rel err");
  if (fd) s += fmt::format("  {:>10}  {:>14}", "hand vs FD", "autodiff vs FD");
  s += "  verdict\n";
  for (const auto& n : r.nodes) {
    s += fmt::format("{:<{}}  {:>8.2e}  {:>10.2e}  {:>9.4g}  {:>7.4f}  {:>8}", n.node, w,
                     n.hand_norm, n.autodiff_norm, n.factor, n.cosine, error_cell(n.rel_error));
    if (fd)
      s += fmt::format("  {:>10}  {:>14}", error_cell(n.fd_max_rel_error),
                       error_cell(n.autodiff_fd_rel_error));
    s += n.agrees ? "  agrees\n" : "  WRONG\n";
  }
  const std::string lead = title.empty() ? std::string() : fmt::format("{}: ", title);
  if (!r.first_wrong)
    return s + fmt::format("{}agrees with autodiff at all {} nodes (rtol {}).\n", lead,
                           r.nodes.size(), r.options.rtol);
  std::size_t wrong = 0;
  for (const auto& n : r.nodes) wrong += !n.agrees;
  const NodeCheck& first = r.nodes[*r.first_wrong];
  s += fmt::format(
      "{}DISAGREES with autodiff at {} of {} nodes. First wrong node in backward "
      "order: {} ({})",
      lead, wrong, r.nodes.size(), first.node, discrepancy(first));
  const NodeCheck& last = r.nodes.back();
  if (&last != &first && !last.agrees)
    s += fmt::format("; at {}: {}", last.node, discrepancy(last));
  return s + ".\n";
}

// --- the post's derivations
// ------------------------------------------------------------------------

namespace {
constexpr std::pair<PostDerivation, std::string_view> kPostNames[] = {
    {PostDerivation::Relu, "post-relu"},
    {PostDerivation::SigmoidAsPublished, "post-sigmoid"},
    {PostDerivation::SigmoidCorrected, "corrected-sigmoid"}};
}

std::string_view post_derivation_name(PostDerivation d) {
  for (const auto& [k, n] : kPostNames)
    if (k == d) return n;
  fail("post derivation code {} out of range", int(d));
}

PostDerivation parse_post_derivation(std::string_view name) {
  for (const auto& [k, n] : kPostNames)
    if (n == name) return k;
  fail("unknown derivation '{}' (expected post-relu, post-sigmoid or corrected-sigmoid)", name);
}

Derivation<double> post_derivation(PostDerivation d) {
  return [d](const ForwardPass<double>& p) {
    std::size_t depth = 0;
    while (p.has(fmt::format("layer{}/z", depth + 1))) ++depth;
    if (depth == 0) fail("post derivation: the graph has no layer1/z");
    auto v = [&](std::size_t l, const char* node) {
      return p.value(l == 0 ? std::string("x") : fmt::format("layer{}/{}", l, node));
    };
    const Eigen::MatrixXd y = p.value("y");
    const double m = double(y.cols());
    std::vector<HandGradient<double>> out;
    Eigen::MatrixXd dz;
    for (std::size_t l = depth; l >= 1; --l) {
      if (l == depth) {
        dz = v(l, "a") - y;  // the post's dz[L] = a[L] - y (sigmoid output, cross-entropy)
      } else {
        const Eigen::MatrixXd z = v(l, "z");
        Eigen::MatrixXd deriv;
        if (d == PostDerivation::SigmoidCorrected) {
          const Eigen::ArrayXXd s = 1 / (1 + (-z.array()).exp());
          deriv = (s * (1 - s)).matrix();  // logistic_gradient
        } else {
          deriv = (z.array() > 0).cast<double>().matrix();  // relu_gradient
        }
        dz = ((v(l + 1, "w") * dz).array() * deriv.array())
                 .matrix();  // np.dot(w[l+1], dz[l+1]) * g'
      }
      const std::string s = fmt::format("layer{}/", l);
      out.push_back({s + "z", dz / m});
      out.push_back({s + "w", v(l - 1, "a") * dz.transpose() / m});  // np.dot(a[l-1], dz[l].T) / m
      out.push_back({s + "b", dz.rowwise().sum() / m});              // np.sum(dz[l].T, axis=0) / m
    }
    return out;
  };
}

template class ForwardPass<double>;
template class ForwardPass<float>;
template DerivationReport check_derivation(Graph<double>&, Var<double>, const Derivation<double>&,
                                           const CheckOptions&);
template DerivationReport check_derivation(Graph<float>&, Var<float>, const Derivation<float>&,
                                           const CheckOptions&);
template DerivationReport check_derivation(Graph<double>&, Var<double>,
                                           std::vector<HandGradient<double>>, const CheckOptions&);
template DerivationReport check_derivation(Graph<float>&, Var<float>,
                                           std::vector<HandGradient<float>>, const CheckOptions&);

}  // namespace gradscope::models
