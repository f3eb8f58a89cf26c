#include "gradscope/instruments/diagnosis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

#include "gradscope/instruments/grad_stats.hpp"

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

Verdict layer_verdict(double rms, double gain, const DiagnosisThresholds& th) {
  if (!std::isfinite(rms)) return Verdict::NonFinite;
  if (std::isnan(gain)) return Verdict::Unknown;  // 0/0: no gradient here nor above
  if (gain < th.vanishing_gain) return Verdict::Vanishing;
  if (gain > th.exploding_gain) return Verdict::Exploding;
  return Verdict::Stable;
}

// ‖g‖ of node v's gradient: from the caller's measurements when it has them, else read.
template <class T>
double grad_l2_norm(const NodeView<T>& v, const PassSums* sums) {
  if (!sums) return l2_norm(v.grad());
  const GradSums& s = sums->grads[v.index()];
  return s.finite() ? s.l2 : kNoValue;
}

// Sets out to v's name "scope/local" (v's scope path and local name) unless it holds that already,
// so that a training loop diagnosing every pass compares names instead of building them.
template <class T>
void set_name(std::string& out, const NodeView<T>& v, std::string_view scope,
              std::string_view local) {
  const std::size_t at = scope.empty() ? 0 : scope.size() + 1;
  const bool same = !local.empty() && out.size() == at + local.size() &&
                    out.compare(0, scope.size(), scope) == 0 &&
                    (at == 0 || out[scope.size()] == '/') && out.compare(at, local.size(), local) == 0;
  if (!same) v.name_into(out);
}

// The activation node act = σ(z) as a Slope of slope_norm, with the values σ' is taken from
// (z for ReLU and leaky ReLU, a for sigmoid and tanh); nullopt for an op without a stated σ'.
struct ActivationSlope {
  Slope slope;
  bool from_output;
};
std::optional<ActivationSlope> slope_of(Op op) {
  switch (op) {
    case Op::Relu: return ActivationSlope{Slope::Relu, false};  // 0 at the kink, as the op's backward
    case Op::LeakyRelu: return ActivationSlope{Slope::LeakyRelu, false};
    case Op::Sigmoid: return ActivationSlope{Slope::Sigmoid, true};  // σ' = σ(1-σ)
    case Op::Tanh: return ActivationSlope{Slope::Tanh, true};        // σ' = 1 - tanh²
    default: return std::nullopt;
  }
}

// The node whose gradient the engine computed as exactly w_{l+1}·dz_{l+1}, or kNoNode: the input x
// of layer l+1 (layer l's "a", or its "z" when it has none) if its only consumer is layer l+1's
// product p = matmul(w or wᵀ, x), and p's gradient is dz_{l+1}: p is "z", or p's only consumer is
// "z" = p + b with p of z's shape (an add or sub passes its gradient on, up to a sign the norms
// ignore). consumers: how many nodes use each node as an input; last_consumer: the
// last of them.
template <class T>
std::uint32_t product_node(const Graph<T>& g, const LayerDiagnosis& ld, const LayerDiagnosis& up,
                           const std::vector<std::uint32_t>& consumers,
                           const std::vector<std::uint32_t>& last_consumer) {
  const std::uint32_t x = ld.a_node != kNoNode ? ld.a_node : ld.z_node;
  if (consumers[x] != 1) return kNoNode;
  const NodeView<T> p(g, last_consumer[x]);
  if (p.op() != Op::Matmul || p.input(1) != x) return kNoNode;
  const NodeView<T> w(g, p.input(0));
  const bool w_fits = up.w_transposed ? w.op() == Op::Transpose && w.input(0) == up.w_node
                                      : w.index() == up.w_node;
  if (!w_fits) return kNoNode;
  if (p.index() == up.z_node) return x;
  const NodeView<T> z(g, up.z_node);
  const bool passes_on = consumers[p.index()] == 1 && last_consumer[p.index()] == up.z_node &&
                         (z.op() == Op::Add || z.op() == Op::Sub) && p.shape() == z.shape();
  return passes_on ? x : kNoNode;
}

// The seed's recurrence for one layer, dz_l = w_{l+1} dz_{l+1} ⊙ σ'(z_l), with σ'(z_l) from the
// forward pass and dz_{l+1} (of rms rms_up) the gradient arriving from the layer above; returns
// rms(dz_l)/rms(dz_{l+1}). w·dz_{l+1} is the gradient of node w_dz where the engine computed
// exactly that (product_node), else computed here: w enters as w (seed orientation, z = wᵀa) or
// wᵀ (z = W a). NaN when the shapes do not fit, the activation has no stated σ', or the result is
// not finite. sums: the caller's measurements, or null.
template <class T>
double predicted_layer_gain(const NodeView<T>& z, const NodeView<T>* a, const NodeView<T>& w,
                            bool w_transposed, const NodeView<T>& z_up, double rms_up,
                            const NodeView<T>* w_dz, const PassSums* sums) {
  const auto wv = w.value();
  const auto up = z_up.grad();
  const Eigen::Index n = z.shape().rows, m = z.shape().cols;
  const bool fits = w_transposed ? wv.rows() == n && wv.cols() == up.rows()
                                 : wv.cols() == n && wv.rows() == up.rows();
  if (!fits || up.cols() != m || (a && (a->arity() != 1 || a->input(0) != z.index())))
    return kNoValue;
  const auto slope = a ? slope_of(a->op()) : std::nullopt;
  if (a && !slope) return kNoValue;
  auto gain = [&](double norm) {
    return std::isfinite(norm) ? norm / std::sqrt(double(n * m)) / rms_up : kNoValue;
  };
  if (w_dz) {  // w_dz is a, or z when the layer has no activation node (σ' = 1)
    if (!a) return gain(grad_l2_norm(z, sums));
    const double carried = sums ? sums->carried[a->index()] : kNoValue;
    return gain(std::isnan(carried) ? carried_norm(*a) : carried);
  }
  // σ' is read from u: the activation's input z or its output a.
  const T* u = !a ? nullptr : slope->from_output ? a->value().data() : z.value().data();
  // Narrow layers (the seed's 2x2 weights against thousands of samples): coefficient-wise
  // products, several times faster than Eigen's GEMM, which packs both operands first; in blocks
  // of columns small enough that each block is still in L1 when σ' and the sums sweep it. Wide
  // layers: one GEMM (blocks would repack w every time).
  const bool narrow = wv.size() <= 64;
  const Eigen::Index block = narrow ? std::max<Eigen::Index>(1, 1024 / n) : m;
  // Scratch kept per thread, so that diagnosing every iteration does not allocate.
  thread_local std::vector<T> scratch;
  if (scratch.size() < std::size_t(n * block)) scratch.resize(std::size_t(n * block));
  double norm = 0;
  for (Eigen::Index c = 0; c < m; c += block) {
    const Eigen::Index cols = std::min(block, m - c);
    const std::size_t offset = std::size_t(c * n), count = std::size_t(cols * n);
    MatrixMap<T> dz(scratch.data(), n, cols);
    const auto up_block = up.middleCols(c, cols);
    if (w_transposed && narrow)
      dz.noalias() = wv.lazyProduct(up_block);
    else if (w_transposed)
      dz.noalias() = wv * up_block;
    else if (narrow)
      dz.noalias() = wv.transpose().lazyProduct(up_block);
    else
      dz.noalias() = wv.transpose() * up_block;
    // Without an activation node σ' = 1: models/ records an identity activation as a = z.
    norm = combine_norms(norm, a ? slope_norm(slope->slope, dz.data(), u + offset, count,
                                              double(a->attr()))
                                 : l2_norm(dz));
  }
  return gain(norm);
}

}  // namespace

bool is_activation(Op op) { return slope_of(op).has_value(); }

template <class T>
double carried_norm(const NodeView<T>& a) {
  const auto slope = slope_of(a.op());
  if (!slope) return kNoValue;
  const auto g = a.grad();
  const auto u = slope->from_output ? a.value() : a.graph().node(a.input(0)).value();
  const double s =
      slope_norm(slope->slope, g.data(), u.data(), std::size_t(g.size()), double(a.attr()));
  return std::isfinite(s) ? s : kNoValue;
}

template <class T>
void diagnose(const Graph<T>& g, const DiagnosisThresholds& th, Diagnosis& out, bool predict,
              const PassSums* sums) {
  if (!g.has_gradients()) fail("diagnose: backward() has not run on this graph");
  if (sums && (sums->grads.size() != g.size() || sums->carried.size() != g.size()))
    fail("diagnose: sums of {} and {} nodes given for a graph of {} nodes", sums->grads.size(),
         sums->carried.size(), g.size());
  out.measured_gain = out.predicted_gain = out.total_gain = kNoValue;
  out.verdict = Verdict::Unknown;
  out.note.clear();

  // The layer of every scope, parsed once per scope rather than once per node.
  thread_local std::vector<int> layer_of;
  layer_of.resize(g.scope_count());
  for (std::uint32_t id = 0; id < layer_of.size(); ++id)
    layer_of[id] = layer_of_scope(g.scope_path(id));

  // Pass 1: how many layers and parameters, so that out's vectors are sized once (and keep their
  // storage across calls in a training loop).
  const auto n_nodes = std::uint32_t(g.size());
  thread_local std::vector<typename Graph<T>::Label> labels;
  g.labels_into(labels);
  int depth = 0;
  std::size_t n_params = 0;
  for (std::uint32_t i = 0; i < n_nodes; ++i) {
    const NodeView<T> v(g, i);
    if (!v.requires_grad()) continue;
    if (v.op() == Op::Param) ++n_params;
    const int l = layer_of[labels[i].scope];
    if (l > depth && labels[i].local == "z") depth = l;
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

  // Pass 2: find each layer's z, a, w, measure every parameter and count each node's consumers.
  thread_local std::vector<std::uint32_t> consumers, last_consumer;
  consumers.assign(n_nodes, 0);
  last_consumer.resize(n_nodes);
  std::size_t p = 0;
  for (std::uint32_t i = 0; i < n_nodes; ++i) {
    const NodeView<T> v(g, i);
    for (int k = 0; k < v.arity(); ++k) {
      ++consumers[v.input(k)];
      last_consumer[v.input(k)] = i;
    }
    if (!v.requires_grad()) continue;
    const auto [scope, local] = labels[i];
    if (v.op() == Op::Param) {
      auto& pr = out.parameters[p++];
      set_name(pr.name, v, g.scope_path(scope), local);
      pr.grad_norm = grad_l2_norm(v, sums);
      pr.value_norm = l2_norm(v.value());
      pr.ratio = pr.grad_norm / pr.value_norm;
    }
    const int l = layer_of[scope];
    if (l == 0 || l > depth) continue;
    auto& ld = out.layers[std::size_t(l - 1)];
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
    if (slot == &ld.w_node) ld.weight_ratio = out.parameters[p - 1].ratio;  // w is that parameter
    if (slot == &ld.z_node && ld.scope != g.scope_path(scope)) ld.scope = g.scope_path(scope);
  }
  for (auto& ld : out.layers) {
    if (ld.z_node == kNoNode) {
      out.note = fmt::format("layer{} has no node 'z' (layers 1..{} are needed)", ld.layer, depth);
      out.layers.clear();
      return;
    }
    const NodeView<T> z(g, ld.z_node);
    ld.grad_norm = grad_l2_norm(z, sums);
    ld.grad_rms = ld.grad_norm / std::sqrt(double(z.shape().size()));
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
      const std::uint32_t x = product_node(g, ld, up, consumers, last_consumer);
      const auto w_dz = x == kNoNode ? std::optional<NodeView<T>>() : g.node(x);
      ld.predicted_gain = predicted_layer_gain(
          NodeView<T>(g, ld.z_node), a ? &*a : nullptr, NodeView<T>(g, up.w_node), up.w_transposed,
          NodeView<T>(g, up.z_node), up.grad_rms, w_dz ? &*w_dz : nullptr, sums);
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

template double carried_norm<double>(const NodeView<double>&);
template double carried_norm<float>(const NodeView<float>&);
template void diagnose<double>(const Graph<double>&, const DiagnosisThresholds&, Diagnosis&, bool,
                               const PassSums*);
template void diagnose<float>(const Graph<float>&, const DiagnosisThresholds&, Diagnosis&, bool,
                              const PassSums*);

}  // namespace gradscope
