#pragma once
// Checking hand-derived backward passes against autodiff and finite differences.
//
// A user who derived dL/d(node) by hand — as the post does for dz, dw and db — hands those
// gradients in, per node name, either as values or as a function of the recorded forward pass.
// check_derivation() runs backward, and for every node the derivation covers reports the largest
// absolute and relative difference from autodiff and from central finite differences, and the
// first node in backward order (output towards input, the order the derivation is built in)
// where the derivation goes wrong. How it is wrong: the norm ratio ‖hand‖/‖autodiff‖ (a scale),
// the cosine between the two (1 same direction, -1 a flipped sign, which the ratio cannot show)
// and the relative error ‖hand - autodiff‖/‖autodiff‖ (2 for a flipped sign). format_report()
// prints the report as a table; docs/tutorial.md shows one read.
//
// Finite differences need no help from the user: the recorded graph is replayed, op by op, with
// one element of the node perturbed by ±h, and the loss re-evaluated.
#include <functional>
#include <gradscope/autodiff/graph.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gradscope::models {

// Read access to the recorded forward pass, by node name ("layer3/z", "x").
template <class T>
class ForwardPass {
 public:
  explicit ForwardPass(const Graph<T>& g);
  bool has(const std::string& name) const { return index_.count(name) > 0; }
  std::uint32_t index(const std::string& name) const;  // throws Error if absent or ambiguous
  Matrix<T> value(const std::string& name) const { return graph_.node(index(name)).value(); }
  const Graph<T>& graph() const { return graph_; }

 private:
  const Graph<T>& graph_;
  std::unordered_map<std::string, std::uint32_t> index_;  // kAmbiguous for repeated names
};

template <class T>
struct HandGradient {
  std::string node;  // "layer3/z"
  Matrix<T> grad;    // d loss / d node, the node's shape
};

template <class T>
using Derivation = std::function<std::vector<HandGradient<T>>(const ForwardPass<T>&)>;

struct CheckOptions {
  double rtol = 1e-6;  // a node agrees when max |hand - autodiff| <= atol + rtol·max |autodiff|
  double atol = 1e-12;
  double fd_step = 1e-6;  // central differences (L(v+h) - L(v-h)) / 2h, h = fd_step·max(1, |v|)
  bool finite_differences = true;
};

struct NodeCheck {
  std::string node;
  std::uint32_t index = 0;
  double hand_norm = 0, autodiff_norm = 0, fd_norm = 0;
  double factor = 0;            // ‖hand‖ / ‖autodiff‖ (1 when both are 0)
  double cosine = 1;            // <hand, autodiff> / (‖hand‖ ‖autodiff‖); 1 if both 0, 0 if one is
  double rel_error = 0;         // ‖hand - autodiff‖ / ‖autodiff‖ (inf when autodiff is 0, hand not)
  double max_abs_error = 0;     // max |hand - autodiff|
  double max_rel_error = 0;     // max_abs_error / max |autodiff| (inf when autodiff is 0, hand not)
  double fd_max_abs_error = 0;  // max |hand - finite differences|  (NaN when not computed)
  double fd_max_rel_error = 0;  // that over max |finite differences|
  double autodiff_fd_rel_error = 0;  // max |autodiff - fd| / max |fd|: how far FD confirms autodiff
  bool agrees = true;
};

struct DerivationReport {
  std::vector<NodeCheck> nodes;            // backward order: descending node index
  std::optional<std::size_t> first_wrong;  // into nodes
  CheckOptions options;                    // what the check ran with
  bool agrees() const { return !first_wrong; }
};

// The report as text: a table, one row per node in backward order (norms, ratio, cosine, relative
// error, with finite differences the hand's and autodiff's relative error from them, verdict),
// then one line: agreement, or how many nodes are wrong and the first wrong one described
// ("opposite sign", "same direction, 4.25x autodiff's norm", ...). title, when given, starts that
// line. Errors below 1e-10, rounding in double, print as "<1e-10". Fits 100 columns for node
// names up to 11 characters.
std::string format_report(const DerivationReport& report, std::string_view title = {});

// Runs g.backward(loss) (Parameters' gradients accumulate as with any backward) and compares.
// Throws Error for a hand gradient naming an unknown node or having the wrong shape.
template <class T>
DerivationReport check_derivation(Graph<T>& g, Var<T> loss, const Derivation<T>& derivation,
                                  const CheckOptions& options = {});
template <class T>
DerivationReport check_derivation(Graph<T>& g, Var<T> loss, std::vector<HandGradient<T>> values,
                                  const CheckOptions& options = {});

// The post's hand derivations for its networks (layers "layer1".."layerL", output sigmoid, mean
// binary cross-entropy, data "x" and labels "y"): dz_L = a_L - y, dz_l = (w_{l+1} dz_{l+1}) ⊙
// g'(z_l), dw_l = a_{l-1} dz_lᵀ / m, db_l = Σ dz_l / m. The post's dz carries no 1/m; the hand
// gradient of z handed in is dz/m, the gradient of the mean loss the dw and db formulas already
// use.
enum class PostDerivation {
  Relu,                // g' = relu_gradient, for the ReLU net (the post's first demo)
  SigmoidAsPublished,  // the post's sigmoid demo: g' = relu_gradient still (its bug)
  SigmoidCorrected,    // g' = σ(z)(1 - σ(z))
};
std::string_view post_derivation_name(
    PostDerivation d);  // post-relu, post-sigmoid, corrected-sigmoid
PostDerivation parse_post_derivation(std::string_view name);
Derivation<double> post_derivation(PostDerivation d);

extern template class ForwardPass<double>;
extern template class ForwardPass<float>;

}  // namespace gradscope::models
