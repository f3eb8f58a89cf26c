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

// act: an activation op with its attribute (anything else is the identity, ops::activation_values).
// Throws Error unless sigma_w2 > 0 and sigma_b2 >= 0, both finite.
MeanField mean_field(Op act, double attr, double sigma_w2, double sigma_b2);

// The σ_w² at which χ₁ = 1 for this σ_b²: the edge of chaos (relu: 2; tanh at σ_b² = 0.05: 1.76).
// Throws Error naming the op when χ₁ does not cross 1 for σ_w² in [1e-3, 1e3].
double critical_sigma_w2(Op act, double attr, double sigma_b2);

}  // namespace gradscope
