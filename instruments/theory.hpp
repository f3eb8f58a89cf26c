#pragma once
// Theory beside the measurement: what mean-field signal propagation (Schoenholz et al. 2017, "Deep
// information propagation"; Poole et al. 2016) predicts for the gradient from the forward pass and
// the weights alone, never from the back-propagated gradient it is compared with.
//
// Backward through unit l+1 computes dz_l = (W_{l+1}ᵀ dz_{l+1}) ⊙ φ′(z_l). With W's entries
// independent of the gradient and of one another, E[dz_l²] = χ_l · E[dz_{l+1}²] with
//   χ_l = ‖W_{l+1}‖² / n_l · E[φ′(z_l)²]       (= n·Var(W)·E[φ′²] for zero-mean square W)
// where n_l is the dimension W_{l+1}'s product contracts and E[φ′(z_l)²] is taken over the unit's
// actual pre-activations, with φ′ the activation op's own slope(). The predicted gain is √χ_l.
// It assumes wide layers: at the post's width 2, a unit dead for every sample, or weights far from
// independent (w = 0.8·I), make the measured gain differ from it, and that difference is the point
// of showing both.
#include "gradscope/instruments/layers.hpp"

namespace gradscope {

// E[φ′(z)²] over unit's pre-activations: 1 where a is z (identity), NaN where a's op is not an
// activation.
template <class T>
double mean_slope_squared(const Graph<T>& g, const LayerNodes& unit);

// Whether the formula above describes backward through up into the unit under it: up has a
// product of weights and its z is that product plus biases (LayerNodes::affine; not a normalised
// layer, a residual block).
inline bool has_mean_field(const LayerNodes& up) {
  return up.product != kNoNode && up.w != kNoNode && up.affine;
}

// √χ_l of the unit under up (l+1), from that unit's slope_squared (mean_slope_squared) and
// w_norm = ‖W_{l+1}‖ (the norm of up.w); NaN where !has_mean_field(up).
template <class T>
double mean_field_gain(const Graph<T>& g, const LayerNodes& up, double slope_squared,
                       double w_norm);

extern template double mean_slope_squared<double>(const Graph<double>&, const LayerNodes&);
extern template double mean_slope_squared<float>(const Graph<float>&, const LayerNodes&);
extern template double mean_field_gain<double>(const Graph<double>&, const LayerNodes&, double,
                                               double);
extern template double mean_field_gain<float>(const Graph<float>&, const LayerNodes&, double,
                                              double);

}  // namespace gradscope
