#pragma once
// Diagnosis of gradient flow through the units of a network (instruments/layers.hpp): is the
// gradient vanishing, exploding or stable, measured from one backward pass, beside what
// mean-field theory predicts from the forward pass (instruments/theory.hpp).
//
// Measured gain. Unit l's gain is g_l = rms(dz_l) / rms(dz_{l+1}), l = 1 (next to the input) .. L.
// RMS rather than the L2 norm, so that a change of width does not read as a gain. The network's
// gain is the geometric mean of g_l over the hidden units 1..L-2, i.e.
// (rms(dz_1) / rms(dz_{L-1}))^(1/(L-2)): exactly the attenuation per layer over the hidden stack,
// so that gain and total attenuation never disagree. The output unit L is left out: its gradient
// is the loss's, not a product of layers.
//
// Theory gain. √χ_l per unit (theory.hpp), and for the network their geometric mean over the same
// units. ratio = measured / theory.
//
// Verdicts, from DiagnosisThresholds, the one place their numbers are set:
//   unit l < L:  from its trend, the geometric mean of the gains over units l-w..l+w (w = window,
//                clipped to 1..L-1), so that one noisy layer does not flip the verdict;
//                trend < vanishing_gain: vanishing; trend > exploding_gain: exploding; else stable.
//   network:     vanishing if its gain < vanishing_gain or total_gain < vanishing_total;
//                exploding if its gain > exploding_gain or total_gain > exploding_total;
//                else stable. total_gain = rms(dz_1) / rms(dz_L), output to input.
//   hysteresis:  when out already holds a verdict for the same unit (the monitor passes the last
//                pass's diagnosis), leaving that verdict takes crossing the threshold by a relative
//                margin `hysteresis`, so verdicts do not flip on noise at a threshold.
//   non_finite when a unit's gradient holds NaN or Inf; unknown when fewer than 3 units are found.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/autodiff/graph.hpp"
#include "gradscope/instruments/grad_stats.hpp"
#include "gradscope/instruments/layers.hpp"

namespace gradscope {

enum class Verdict : std::uint8_t { Unknown, Vanishing, Stable, Exploding, NonFinite };
std::string_view to_string(Verdict v);  // "unknown", "vanishing", "stable", "exploding", "non_finite"

struct DiagnosisThresholds {
  double vanishing_gain = 0.85;        // per-layer gain below this: vanishing
  double exploding_gain = 1.0 / 0.85;  // per-layer gain above this: exploding
  double vanishing_total = 1e-3;       // rms(dz_1)/rms(dz_L) below this: the network vanishes
  double exploding_total = 1e3;        // ... above this: the network explodes
  double hysteresis = 0.02;            // relative margin to leave a verdict (see above)
  int window = 2;                      // a unit's trend spans its gain and `window` on each side
};

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

struct LayerDiagnosis {
  int layer = 0;      // 1 = next to the input
  std::string scope;  // the unit's scope path
  // Graph indices of the unit's pre-activation, activation, weight parameter and bias (kNoNode if
  // absent), valid until clear().
  std::uint32_t z_node = kNoNode, a_node = kNoNode, w_node = kNoNode, b_node = kNoNode;
  std::uint32_t width = 0;           // rows of z
  double grad_norm = 0;              // ‖dL/dz_l‖ (L2 over all units and samples)
  double grad_rms = 0;               // ‖dL/dz_l‖ / sqrt(elements)
  double gain = kNoValue;            // rms(dz_l) / rms(dz_{l+1}); NaN for the output unit
  double trend = kNoValue;           // geometric mean of the gains around l: what the verdict reads
  double theory_gain = kNoValue;     // √χ_l from the forward pass and weights; NaN where unstated
  double weight_ratio = kNoValue;    // ‖dW‖/‖W‖ of this unit's weight parameter
  Verdict verdict = Verdict::Unknown;
};

// ‖dW‖/‖W‖ of one parameter in this backward pass (Frobenius norms): the update-to-weight ratio
// practitioners watch. Infinite when W is all zeros (a zero-initialised bias).
struct ParameterRatio {
  std::string name;  // "layer3/w"
  std::uint32_t node = kNoNode;
  double grad_norm = 0, value_norm = 0, ratio = 0;
};

struct Diagnosis {
  std::vector<LayerDiagnosis> layers;  // unit 1 first; empty when no unit was found
  double measured_gain = kNoValue;
  double theory_gain = kNoValue;
  double total_gain = kNoValue;  // rms(dz_1) / rms(dz_L)
  Verdict verdict = Verdict::Unknown;
  std::string note;  // why the verdict is unknown, if it is
  std::vector<ParameterRatio> parameters;  // every parameter node reached by backward, in creation order
  // Working storage of diagnose(), kept so that diagnosing every pass allocates nothing, and the
  // units are found once while the graph's structure stays the same.
  LayerFinder finder;
};

// What a caller that watched the pass (the GradientMonitor) measured during it, so that diagnose()
// need not measure it again. Each is optional (null).
struct PassFigures {
  const std::vector<GradSums>* grads = nullptr;  // by node: the statistics of its gradient
  const LayerFinder* units = nullptr;            // the units and labels, found for this graph
  // By unit of *units: E[φ′(z)²] (mean_slope_squared), NaN where not taken.
  const std::vector<double>* slope_squared = nullptr;
};

// Diagnoses the last backward pass of g into out, reusing its storage (a training loop that
// diagnoses every pass allocates nothing once names are stable) and its verdicts for hysteresis.
// figures: what the caller measured during the pass; the rest is read from g here.
template <class T>
void diagnose(const Graph<T>& g, const DiagnosisThresholds& thresholds, Diagnosis& out,
              const PassFigures& figures = {});
template <class T>
Diagnosis diagnose(const Graph<T>& g, const DiagnosisThresholds& thresholds = {}) {
  Diagnosis d;
  diagnose(g, thresholds, d);
  return d;
}

// The network verdict above for a per-unit gain and a total gain, leaving `previous` only past the
// hysteresis margin (Verdict::Unknown: no previous verdict). The diagnosis through time uses it too.
Verdict network_verdict(double gain, double total, Verdict previous, const DiagnosisThresholds& th);

// The per-unit table and the network's line, as printed by the CLI and logged by the monitor.
std::string format_table(const Diagnosis& d);
// One line: "gain 0.8 per layer (theory 0.8), rms(dz_1)/rms(dz_10) = 0.168: vanishing"; the theory
// left out where it is unstated (a residual or normalised stack).
std::string format_summary(const Diagnosis& d);

extern template void diagnose<double>(const Graph<double>&, const DiagnosisThresholds&, Diagnosis&,
                                      const PassFigures&);
extern template void diagnose<float>(const Graph<float>&, const DiagnosisThresholds&, Diagnosis&,
                                     const PassFigures&);

}  // namespace gradscope
