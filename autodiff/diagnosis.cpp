#include "gradscope/autodiff/diagnosis.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

namespace gradscope {

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Vanishing: return "vanishing";
    case Verdict::Stable: return "stable";
    case Verdict::Exploding: return "exploding";
    case Verdict::NonFinite: return "non_finite";
    case Verdict::Unknown: break;
  }
  return "unknown";
}

int layer_of_scope(std::string_view path) {
  const auto slash = path.rfind('/');
  const std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
  constexpr std::string_view prefix = "layer";
  if (last.size() <= prefix.size() || last.substr(0, prefix.size()) != prefix) return 0;
  int layer = 0;
  const char* end = last.data() + last.size();
  const auto [ptr, ec] = std::from_chars(last.data() + prefix.size(), end, layer);
  return ec == std::errc() && ptr == end && layer > 0 ? layer : 0;
}

namespace {

// Least-squares line through (l, y_l), l = 1..n, accumulated in one pass; gain() is exp(-slope),
// the factor per layer from the output toward the input.
struct LineFit {
  int n = 0;
  double sum_y = 0, sum_ly = 0;
  void add(int l, double y) {
    ++n;
    sum_y += y;
    sum_ly += l * y;
  }
  double gain() const {
    const double mean_l = (n + 1) / 2.0;
    const double sxx = n * (double(n) * n - 1) / 12.0;  // Σ (l - mean_l)² over l = 1..n
    return std::exp(-(sum_ly - mean_l * sum_y) / sxx);
  }
};

template <class M>
double norm_of(const M& m) {
  return m.template cast<double>().norm();
}

Verdict layer_verdict(double rms, double gain, const DiagnosisThresholds& th) {
  if (!std::isfinite(rms)) return Verdict::NonFinite;
  if (std::isnan(gain)) return Verdict::Unknown;  // 0/0: no gradient here nor above
  if (gain < th.vanishing_gain) return Verdict::Vanishing;
  if (gain > th.exploding_gain) return Verdict::Exploding;
  return Verdict::Stable;
}

// Σ (dz ⊙ σ'(z))² with σ' from the op of the activation node a = σ(z), or 1 when the layer has
// no node "a" (models/ records an identity activation as a = z); NaN for other ops.
template <class T>
double sum_sq_times_slope(const MatrixMap<T>& dz, const NodeView<T>& z, const NodeView<T>* a) {
  const auto d = dz.array().template cast<double>();
  if (!a) return d.square().sum();
  const auto zv = z.value().array();
  const auto av = a->value().array().template cast<double>();
  switch (a->op()) {
    case Op::Relu:  // σ' = 1 where z > 0, else 0
      return (zv > T(0)).select(d, 0.0).square().sum();
    case Op::LeakyRelu:  // σ' = 1 where z > 0, else the slope
      return (zv > T(0)).select(d, d * double(a->attr())).square().sum();
    case Op::Sigmoid:  // σ' = σ(1-σ)
      return (d * av * (1.0 - av)).square().sum();
    case Op::Tanh:  // σ' = 1 - tanh²
      return (d * (1.0 - av.square())).square().sum();
    default:
      return kNoValue;
  }
}

// The seed's recurrence for one layer, dz_l = w_{l+1} dz_{l+1} ⊙ σ'(z_l), evaluated on the forward
// pass's w and z and on the gradient arriving from the layer above; returns rms(dz_l)/rms(dz_{l+1}).
// w enters as w (seed orientation, z = wᵀa) or wᵀ (z = W a); NaN when the shapes do not fit.
template <class T>
double predicted_layer_gain(const NodeView<T>& z, const NodeView<T>* a, const NodeView<T>& w,
                            bool w_transposed, const NodeView<T>& z_up) {
  const auto wv = w.value();
  const auto up = z_up.grad();
  const Eigen::Index n = z.shape().rows, m = z.shape().cols;
  const bool fits = w_transposed ? wv.rows() == n && wv.cols() == up.rows()
                                 : wv.cols() == n && wv.rows() == up.rows();
  if (!fits || up.cols() != m || (a && (a->arity() != 1 || a->input(0) != z.index())))
    return kNoValue;
  // Scratch kept per thread, so that diagnosing every iteration does not allocate.
  thread_local std::vector<T> scratch;
  if (scratch.size() < std::size_t(n * m)) scratch.resize(std::size_t(n * m));
  MatrixMap<T> dz(scratch.data(), n, m);
  // Eigen's GEMM packs both operands first; for narrow layers (the seed's 2x2 weights against
  // thousands of samples) the coefficient-wise product is several times faster.
  const bool narrow = wv.size() <= 64;
  if (w_transposed && narrow)
    dz.noalias() = wv.lazyProduct(up);
  else if (w_transposed)
    dz.noalias() = wv * up;
  else if (narrow)
    dz.noalias() = wv.transpose().lazyProduct(up);
  else
    dz.noalias() = wv.transpose() * up;
  const double sum_sq = sum_sq_times_slope(dz, z, a);
  const double rms_up = norm_of(up) / std::sqrt(double(up.size()));
  return std::sqrt(sum_sq / double(dz.size())) / rms_up;
}

}  // namespace

template <class T>
void diagnose(const Graph<T>& g, const DiagnosisThresholds& th, Diagnosis& out, bool predict) {
  if (!g.has_gradients()) fail("diagnose: backward() has not run on this graph");
  out.measured_gain = out.predicted_gain = out.total_gain = kNoValue;
  out.verdict = Verdict::Unknown;
  out.note.clear();

  // Pass 1: how many layers and parameters, so that out's vectors are sized once (and keep their
  // storage across calls in a training loop).
  const auto n_nodes = std::uint32_t(g.size());
  int depth = 0;
  std::size_t n_params = 0;
  for (std::uint32_t i = 0; i < n_nodes; ++i) {
    const auto v = g.node(i);
    if (!v.requires_grad()) continue;
    if (v.op() == Op::Param) ++n_params;
    if (v.local_name() == "z") depth = std::max(depth, layer_of_scope(v.scope()));
  }
  out.layers.resize(std::size_t(depth));
  out.parameters.resize(n_params);
  for (int l = 1; l <= depth; ++l) {
    auto& ld = out.layers[std::size_t(l - 1)];
    ld.layer = l;
    ld.z_node = ld.a_node = ld.w_node = kNoNode;
    ld.w_transposed = false;
    ld.gain = ld.predicted_gain = ld.weight_ratio = kNoValue;
    ld.verdict = Verdict::Unknown;
  }

  // Pass 2: find each layer's z, a, w and measure every parameter.
  std::size_t p = 0;
  for (std::uint32_t i = 0; i < n_nodes; ++i) {
    const auto v = g.node(i);
    if (!v.requires_grad()) continue;
    if (v.op() == Op::Param) {
      auto& pr = out.parameters[p++];
      v.name_into(pr.name);
      pr.grad_norm = norm_of(v.grad());
      pr.value_norm = norm_of(v.value());
      pr.ratio = pr.grad_norm / pr.value_norm;
    }
    const int l = layer_of_scope(v.scope());
    if (l == 0 || l > depth) continue;
    auto& ld = out.layers[std::size_t(l - 1)];
    const std::string_view local = v.local_name();
    std::uint32_t* slot = local == "z"                          ? &ld.z_node
                          : local == "a"                        ? &ld.a_node
                          : local == "w" && v.op() == Op::Param ? &ld.w_node
                                                                : nullptr;
    if (v.op() == Op::Transpose && ld.w_node != kNoNode && v.input(0) == ld.w_node)
      ld.w_transposed = true;
    if (!slot) continue;
    if (*slot != kNoNode) {
      out.note = fmt::format("scope '{}' holds two nodes named '{}'", v.scope(), local);
      out.layers.clear();
      return;
    }
    *slot = i;
    if (slot == &ld.z_node) ld.scope = v.scope();
  }
  for (auto& ld : out.layers) {
    if (ld.z_node == kNoNode) {
      out.note = fmt::format("layer{} has no node 'z' (layers 1..{} are needed)", ld.layer, depth);
      out.layers.clear();
      return;
    }
    const auto z = g.node(ld.z_node);
    ld.grad_norm = norm_of(z.grad());
    ld.grad_rms = ld.grad_norm / std::sqrt(double(z.grad().size()));
    if (ld.w_node != kNoNode) {
      const auto w = g.node(ld.w_node);
      ld.weight_ratio = norm_of(w.grad()) / norm_of(w.value());
    }
  }
  if (depth < 3) {
    out.note = depth == 0 ? "no scopes layer<l> with a node 'z'"
                          : "fewer than 3 layers: no gain to fit over the hidden layers";
    return;
  }

  // Gains between adjacent layers, and the forward pass's prediction of them.
  bool finite = true;
  for (int l = 1; l <= depth; ++l) {
    auto& ld = out.layers[std::size_t(l - 1)];
    finite &= std::isfinite(ld.grad_rms);
    if (l == depth) continue;
    const auto& up = out.layers[std::size_t(l)];
    ld.gain = ld.grad_rms / up.grad_rms;
    ld.verdict = layer_verdict(ld.grad_rms, ld.gain, th);
    if (predict && up.w_node != kNoNode) {
      const auto a = ld.a_node == kNoNode ? std::optional<NodeView<T>>() : g.node(ld.a_node);
      ld.predicted_gain = predicted_layer_gain(g.node(ld.z_node), a ? &*a : nullptr,
                                               g.node(up.w_node), up.w_transposed, g.node(up.z_node));
    }
  }
  out.total_gain = out.layers.front().grad_rms / out.layers.back().grad_rms;
  if (!finite) {
    out.verdict = Verdict::NonFinite;
    out.note = "a layer's gradient holds NaN or Inf";
    return;
  }

  // Least-squares fits over the hidden layers 1..L-1 (see the header for why not L); the
  // predicted curve starts at the measured rms(dz_{L-1}) and follows the p_l down.
  const int hidden = depth - 1;
  LineFit measured, predicted;
  double y_predicted = 0;
  bool predictable = true;
  for (int l = hidden; l >= 1; --l) {
    const auto& ld = out.layers[std::size_t(l - 1)];
    measured.add(l, std::log(ld.grad_rms));
    if (l == hidden) {
      y_predicted = std::log(ld.grad_rms);
    } else {
      predictable &= std::isfinite(ld.predicted_gain) && ld.predicted_gain > 0;
      y_predicted += std::log(ld.predicted_gain);
    }
    predicted.add(l, y_predicted);
  }
  out.measured_gain = measured.gain();
  if (predictable) out.predicted_gain = predicted.gain();

  if (!std::isfinite(out.measured_gain)) {  // a layer with an all-zero gradient
    out.verdict = out.total_gain < th.vanishing_total ? Verdict::Vanishing : Verdict::Unknown;
    if (out.verdict == Verdict::Unknown) out.note = "a hidden layer's gradient is exactly zero";
  } else if (out.measured_gain > th.exploding_gain || out.total_gain > th.exploding_total) {
    out.verdict = Verdict::Exploding;
  } else if (out.measured_gain < th.vanishing_gain || out.total_gain < th.vanishing_total) {
    out.verdict = Verdict::Vanishing;
  } else {
    out.verdict = Verdict::Stable;
  }
}

std::string format_summary(const Diagnosis& d) {
  if (d.layers.empty() || d.verdict == Verdict::Unknown)
    return fmt::format("verdict unknown ({})", d.note);
  return fmt::format("gain {:.6g} per layer (predicted {:.6g}), rms(dz_1)/rms(dz_{}) = {:.4g}: {}",
                     d.measured_gain, d.predicted_gain, d.layers.size(), d.total_gain,
                     to_string(d.verdict));
}

std::string format_table(const Diagnosis& d) {
  std::string s = fmt::format("{:>5}  {:>11}  {:>11}  {:>9}  {:>9}  {:>10}  {}\n", "layer",
                              "|dL/dz|", "rms(dz)", "gain", "predicted", "|dw|/|w|", "verdict");
  auto cell = [](double x, const char* spec) {
    return std::isnan(x) ? std::string("-") : fmt::format(fmt::runtime(spec), x);
  };
  for (auto it = d.layers.rbegin(); it != d.layers.rend(); ++it)
    s += fmt::format("{:>5}  {:>11.4e}  {:>11.4e}  {:>9}  {:>9}  {:>10}  {}\n", it->layer,
                     it->grad_norm, it->grad_rms, cell(it->gain, "{:.6f}"),
                     cell(it->predicted_gain, "{:.6f}"), cell(it->weight_ratio, "{:.3e}"),
                     it->layer == int(d.layers.size()) ? "-" : to_string(it->verdict));
  s += "network: " + format_summary(d) + "\n";
  return s;
}

template void diagnose<double>(const Graph<double>&, const DiagnosisThresholds&, Diagnosis&, bool);
template void diagnose<float>(const Graph<float>&, const DiagnosisThresholds&, Diagnosis&, bool);

}  // namespace gradscope
