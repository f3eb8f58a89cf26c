#pragma once
// Diagnosis through time: where a recurrent network's gradient goes over its time steps.
//
// The time steps are the units (instruments/layers.hpp) of the scope that holds the most of them,
// at least two: a cell recorded with Graph::layer under one name at every step (models/recurrent.hpp).
// Unit t's activation is the hidden state h_t, t = 1 .. T in the order of recording.
//
// Measured. ‖dL/dh_t‖ per step (L2 over units and samples). The per-step gain is fitted by least
// squares to log ‖dL/dh_t‖ = c + t·log(1/gain) over the steps whose norm is positive and finite:
// going back one step multiplies the gradient by the gain. total = ‖dL/dh_1‖ / ‖dL/dh_T‖. The
// verdict is the network verdict of diagnosis.hpp (network_verdict) for that gain and total.
//
// Theory (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural
// networks"): backward through step t is dL/dh_{t-1} = W_recᵀ (φ′(z_t) ⊙ dL/dh_t), so the gain is at
// most bound = σ_max(W_rec)·γ, with γ = sup |φ′| taken from the activation op's own slope(). Below
// 1 (σ_max < 1/γ) vanishing is guaranteed; above it exploding is possible, not certain. The bound
// is stated only where h_t = φ(z_t) for an activation op (or h_t = z_t, γ = 1): not for an LSTM,
// whose h_t = o ⊙ tanh(c_t) has a path through c_t that W_rec does not govern.
#include <cstdint>
#include <string>
#include <vector>

#include "gradscope/instruments/diagnosis.hpp"

namespace gradscope {

struct ThroughTime {
  std::string scope;               // the recurrent cell's scope
  std::vector<std::uint32_t> h;    // h_t's node, t = 1 .. T (index t - 1), valid until clear()
  std::vector<double> grad_norm;   // ‖dL/dh_t‖, same indexing
  double gain = kNoValue;          // fitted per-step gain
  double total = kNoValue;         // ‖dL/dh_1‖ / ‖dL/dh_T‖
  Verdict verdict = Verdict::Unknown;
  double sigma_max = kNoValue;     // largest singular value of W_rec
  double gamma = kNoValue;         // sup |φ′| of the step's activation
  double bound = kNoValue;         // sigma_max · gamma: Pascanu's bound on the gain
  std::string note;                // why something is unknown, if it is
};

// From the last backward pass of g; an Error if backward has not run.
template <class T>
ThroughTime diagnose_through_time(const Graph<T>& g, const DiagnosisThresholds& thresholds = {});

// sup over x of |φ′(x)| for activation op with attribute attr, from the op's slope() (NaN for an op
// that is not an activation).
double slope_bound(Op op, double attr);

// A few lines: the gain, total, verdict and bound, then ‖dL/dh_t‖ at every `every`-th step (and
// the last).
std::string format_through_time(const ThroughTime& d, int every = 10);

extern template ThroughTime diagnose_through_time<double>(const Graph<double>&,
                                                          const DiagnosisThresholds&);
extern template ThroughTime diagnose_through_time<float>(const Graph<float>&,
                                                         const DiagnosisThresholds&);

}  // namespace gradscope
