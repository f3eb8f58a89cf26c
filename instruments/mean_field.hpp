#pragma once
// Mean-field signal propagation through a wide random network (Poole et al. 2016; Schoenholz et
// al. 2017, "Deep information propagation"), for weights W_ij ~ N(0, σ_w²/n) and biases
// b_i ~ N(0, σ_b²), evaluated by Gauss–Hermite quadrature with the activation op's own φ and φ′
// (ops::activation_values): the theory a sweep measures the network against.
//
//   q*   the fixed point of the pre-activation variance map q ← σ_w² E[φ(√q z)²] + σ_b²,
//        iterated from q = 1 (unit-variance inputs); z ~ N(0, 1)
//   χ₁   σ_w² E[φ′(√q* z)²]: the factor by which backward through one layer scales E[dz²]
//   gain √χ₁, the rms gain per layer that instruments/diagnosis.hpp measures
//   ξ    −1/ln χ₁, the depth scale over which the gradient changes by e (infinite where χ₁ is 1
//        within 1e-9, the edge of chaos; negative where it grows)
#include <cstddef>

#include "gradscope/ops/activation_values.hpp"

namespace gradscope {

struct MeanField {
  double q_star = 0;  // +inf where the variance map has no fixed point below 1e8 (it grows without bound)
  double chi1 = 0;
  double gain = 0;
  double depth_scale = 0;
};

// E[f(z)] for z ~ N(0, 1) by the kGaussHermiteNodes-point rule. An even number of nodes, placed
// symmetrically about 0 and none on it, so that a kink at 0 (relu) is integrated exactly by
// symmetry; many, so that φ′(√q z)² stays resolved for q* up to ~10² (nodes 0.16 apart near 0).
inline constexpr std::size_t kGaussHermiteNodes = 256;
struct GaussHermite {
  double node[kGaussHermiteNodes];
  double weight[kGaussHermiteNodes];  // summing to 1
};
const GaussHermite& gauss_hermite();

// E[φ(√q z)²] and E[φ′(√q z)²] for z ~ N(0, 1), by the rule above.
struct Moments {
  double phi2 = 0, slope2 = 0;
};
Moments moments(Op act, double attr, double q);

// act: an activation op with its attribute (anything else is the identity, ops::activation_values).
// Throws Error unless sigma_w2 > 0 and sigma_b2 >= 0, both finite.
MeanField mean_field(Op act, double attr, double sigma_w2, double sigma_b2);

// A stack of layers z = LN(Wa + b), a = φ(z), width units each, LN the layer normalisation of
// models/layer_norm.hpp at its initial gain 1 and shift 0. LN makes every z unit-variance, so q = 1
// in every layer; backward it divides by the spread σ = √(σ_w² E[φ(z)²] + σ_b²) of Wa + b and
// projects out the mean and z's own direction (two of width dimensions). The rms gain per layer:
//   √((1 − 2/width) σ_w² E[φ′(z)²] / (σ_w² E[φ(z)²] + σ_b²)),  z ~ N(0, 1)
// independent of the weights' scale for σ_b² = 0 (tanh: 1.08·√(1 − 2/width)).
double layer_norm_gain(Op act, double attr, double sigma_w2, double sigma_b2, double width);

// A stack of `blocks` residual blocks a + β W₂ φ(W₁a + b₁) + b₂ (models/residual.hpp) on
// unit-variance inputs, W₁ and W₂ of variance σ_w²/n, biases σ_b², β² = 1/blocks; with
// layer_norm, W₁a + b₁ layer-normalised before φ. In the mean-field limit the stream's variance
// grows by the branch's, q_a ← q_a + β² σ_w² E[φ(√q₁ z)²] + σ_b² with q₁ = σ_w² q_a + σ_b², and
// backward through block l multiplies E[g²] by
//   χ_l = 1 + β² σ_w² · σ_w² E[φ′(√q₁ z)²]                    (no normalisation)
//   χ_l = 1 + β² σ_w² · E[φ′(z)²] (1 − 2/width) σ_w² / q₁      (layer norm: q = 1, divided by q₁)
// The identity path carries the gradient unchanged; the branch adds its share. Returns the gain
// the diagnosis measures between block 1 and block L−1, (Π_{l=2}^{L−1} χ_l)^(1/(2(L−2))).
// Needs blocks >= 3.
double residual_gain(Op act, double attr, double sigma_w2, double sigma_b2, double width,
                     long blocks, bool layer_norm);

// The σ_w² at which χ₁ = 1 for this σ_b²: the edge of chaos (relu: 2; tanh at σ_b² = 0.05: 1.76).
// Throws Error naming the op when χ₁ does not cross 1 for σ_w² in [1e-3, 1e3].
double critical_sigma_w2(Op act, double attr, double sigma_b2);

}  // namespace gradscope
