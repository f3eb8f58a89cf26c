#pragma once
// Diagnosis of gradient flow through a stack of layers: is the gradient vanishing, exploding or
// stable, measured from one backward pass, and what the seed's analysis predicts.
//
// A layer l (1 = next to the input) is the scope "layer<l>" (possibly nested, "block1/layer3"),
// holding the pre-activation node "z", the activation output "a" = σ(z) and the weight parameter
// "w" — the naming convention of models/. Backward multiplies the gradient by w_{l+1} and by σ'(z_l)
// per layer:  dz_l = (w_{l+1} dz_{l+1}) ⊙ σ'(z_l).
//
// Measured gain. The per-layer gain is the ratio of the root-mean-square of dL/dz between adjacent
// layers, g_l = rms(dz_l) / rms(dz_{l+1}). RMS rather than the L2 norm so that a change of width
// (the seed's 1-unit output layer above 2-unit layers) does not read as a gain. The network's gain
// is exp(-slope) of the least-squares line through log rms(dz_l) against l over the hidden layers
// 1..L-1: the output layer is left out because its gradient is the loss's, not a product of layers.
//
// Predicted gain: the seed's analysis, dz_l = w_{l+1} dz_{l+1} ⊙ σ'(z_l), evaluated layer by layer
// with w and σ'(z_l) from the forward pass and dz_{l+1} the gradient arriving from the layer above:
// p_l = rms(w_{l+1} dz_{l+1} ⊙ σ'(z_l)) / rms(dz_{l+1}). It is the product |w_{l+1} σ'(z_l)| of the
// seed, weighted by where the gradient actually flows (a ReLU unit dead in every layer carries none),
// so for ReLU with w = 0.8·I it is exactly 0.8, and for sigmoid it uses the true σ' = σ(1-σ) of
// each z. Where it differs from the measured gain, the seed's derivation and the engine disagree.
// σ' comes from the op of "a": relu, leaky_relu, sigmoid, tanh, or 1 for a layer without "a"
// (models/ records an identity activation as a = z); another activation op gives no prediction
// (NaN). The network's predicted gain is the same least-squares fit through the curve the p_l
// predict from rms(dz_{L-1}) down.
// Cost. w_{l+1}·dz_{l+1} is by the chain rule exactly the gradient the engine gave the input of
// layer l+1's product, when that product (matmul(w or wᵀ, a_l)) is the input's only consumer and
// its own gradient is dz_{l+1} (it is "z", or "z" = product + b): the model's structure, checked on
// node indices every pass. There p_l takes that gradient and costs one sweep over it and z_l, with
// σ' and the sum of squares fused; what it checks is then the activation's derivative (the part
// the seed's published sigmoid demo got wrong), not the matrix product. Elsewhere the product is
// computed here (for wide layers, a third matrix product beside backward's two). A gradient hook
// on "a" or on the product counts as part of the model in the first case and not in the second.
//
// Verdicts, from DiagnosisThresholds (all configurable):
//   per layer l < L:  gain < vanishing_gain: vanishing; gain > exploding_gain: exploding; else stable.
//   network:          exploding if its gain > exploding_gain or total_gain > exploding_total;
//                     vanishing if its gain < vanishing_gain or total_gain < vanishing_total;
//                     otherwise stable. total_gain = rms(dz_1) / rms(dz_L), output to input.
//   non_finite when a layer's gradient holds NaN or Inf; unknown when there is no stack of >= 3 layers.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/instruments/grad_stats.hpp"
#include "gradscope/autodiff/graph.hpp"

namespace gradscope {

enum class Verdict : std::uint8_t { Unknown, Vanishing, Stable, Exploding, NonFinite };
std::string_view to_string(Verdict v);  // "unknown", "vanishing", "stable", "exploding", "non_finite"

struct DiagnosisThresholds {
  double vanishing_gain = 0.85;        // per-layer gain below this: vanishing
  double exploding_gain = 1.0 / 0.85;  // per-layer gain above this: exploding
  double vanishing_total = 1e-3;       // rms(dz_1)/rms(dz_L) below this: the network vanishes
  double exploding_total = 1e3;        // ... above this: the network explodes
};

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

struct LayerDiagnosis {
  int layer = 0;                     // 1 = next to the input
  std::string scope;                 // "layer3"
  // Graph indices of the layer's nodes "z", "a" and "w" (kNoNode if absent), valid until clear().
  std::uint32_t z_node = kNoNode, a_node = kNoNode, w_node = kNoNode;
  bool w_transposed = false;         // z = wᵀa (the seed's orientation, w in x out) rather than w a
  double grad_norm = 0;              // ‖dL/dz_l‖ (L2 over all units and samples)
  double grad_rms = 0;               // ‖dL/dz_l‖ / sqrt(elements)
  double gain = kNoValue;            // rms(dz_l) / rms(dz_{l+1}); NaN for the output layer
  double predicted_gain = kNoValue;  // p_l above; NaN where it cannot be stated
  double weight_ratio = kNoValue;    // ‖dw‖/‖w‖ of this layer's "w"
  Verdict verdict = Verdict::Unknown;
};

// ‖dW‖/‖W‖ of one parameter in this backward pass (Frobenius norms): the update-to-weight ratio
// practitioners watch. Infinite when W is all zeros (a zero-initialised bias).
struct ParameterRatio {
  std::string name;  // "layer3/w"
  double grad_norm = 0, value_norm = 0, ratio = 0;
};

struct Diagnosis {
  std::vector<LayerDiagnosis> layers;  // layer 1 first; empty when the graph is no layer stack
  double measured_gain = kNoValue;
  double predicted_gain = kNoValue;
  double total_gain = kNoValue;  // rms(dz_1) / rms(dz_L)
  Verdict verdict = Verdict::Unknown;
  std::string note;  // why the verdict is unknown, if it is
  std::vector<ParameterRatio> parameters;  // every parameter node reached by backward, in creation order
};

// What an observer that reads every gradient anyway (the GradientMonitor) measured during the last
// backward pass, by node index, handed to diagnose() so that no gradient is read twice, nor read
// again after it has left the cache.
struct PassSums {
  // The statistics of every node's gradient (GradSums{} where backward did not reach it).
  std::vector<GradSums> grads;
  // carried_norm() of every activation node, where it was measured during the pass. NaN for other
  // nodes, or where not measured (diagnose() then computes it).
  std::vector<double> carried;
};

// ‖g σ'(z)‖ for an activation node a = σ(z) (ReLU, leaky ReLU, sigmoid, tanh) with gradient g:
// the gradient carried back through σ, with σ' stated from the forward pass (the norm behind a
// predicted gain). NaN for any other node or a non-finite result.
template <class T>
double carried_norm(const NodeView<T>& a);
// The ops carried_norm() states σ' for.
bool is_activation(Op op);

// Diagnoses the last backward pass of g. Reuses out's storage and builds no strings once names are
// stable, so a training loop that diagnoses every iteration does not allocate.
// predict = false skips the predicted gains (left NaN), which cost one product w·dz per layer.
// sums: what the caller measured during the pass (vectors of g.size() entries), or null to read
// the gradients here.
template <class T>
void diagnose(const Graph<T>& g, const DiagnosisThresholds& thresholds, Diagnosis& out,
              bool predict = true, const PassSums* sums = nullptr);
template <class T>
Diagnosis diagnose(const Graph<T>& g, const DiagnosisThresholds& thresholds = {}) {
  Diagnosis d;
  diagnose(g, thresholds, d);
  return d;
}

// The per-layer table and the network's line, as printed by the CLI and logged by the monitor.
std::string format_table(const Diagnosis& d);
// One line: "gain 0.8 per layer (predicted 0.8), total 0.168: vanishing".
std::string format_summary(const Diagnosis& d);

// The layer number of a scope path whose last component is "layer<digits>", else 0.
int layer_of_scope(std::string_view scope_path);

extern template void diagnose<double>(const Graph<double>&, const DiagnosisThresholds&, Diagnosis&,
                                      bool, const PassSums*);
extern template void diagnose<float>(const Graph<float>&, const DiagnosisThresholds&, Diagnosis&,
                                     bool, const PassSums*);
extern template double carried_norm<double>(const NodeView<double>&);
extern template double carried_norm<float>(const NodeView<float>&);

}  // namespace gradscope
