#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// Binary cross-entropy on logits z (p = σ(z)) against targets y, averaged over all n elements.
// Fused for numerical stability: out = mean(max(z, 0) - z y + ln(1 + e⁻|ᶻ|)) stays finite for any
// finite z, where σ followed by Bce gives inf once σ(z) rounds to 0 or 1.
struct BceWithLogits : Loss {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    const auto z = f.a.array(), y = f.b.array();
    f.out(0, 0) = (z.max(T(0)) - z * y + (-z.abs()).exp().log1p()).mean();
  }
  // d/dz = (σ(z) - y) / n,  d/dy = -z / n
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    const auto z = b.a.array(), y = b.b.array();
    const T g = b.gout(0, 0) / T(b.a.size());
    if (wants(b.ga)) b.ga.array() += g * (T(1) / (T(1) + (-z).exp()) - y);
    if (wants(b.gb)) b.gb.array() -= g * z;
  }
  static constexpr std::array<Domain, 2> domain{{{-4, 4, 0}, {0, 1, 0}}};
};

}  // namespace gradscope::ops
