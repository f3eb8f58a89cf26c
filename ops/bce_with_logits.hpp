#pragma once
#include "gradscope/ops/kernel.hpp"
#include "gradscope/ops/vector_math.hpp"

namespace gradscope::ops {

// Binary cross-entropy on logits z (p = σ(z)) against targets y, averaged over all n elements.
// Fused for numerical stability: out = mean(max(z, 0) - z y + ln(1 + e⁻|ᶻ|)) stays finite for any
// finite z, where σ followed by Bce gives inf once σ(z) rounds to 0 or 1.
struct BceWithLogits : Loss {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    const auto z = f.a.array();
    const double tail = vec::sum_log1p_exp_neg_abs(f.a.data(), std::size_t(f.a.size()));
    f.out(0, 0) = T((double((z.max(T(0)) - z * f.b.array()).sum()) + tail) / double(f.a.size()));
  }
  // d/dz = (σ(z) - y) / n,  d/dy = -z / n
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    const T g = b.gout(0, 0) / T(b.a.size());
    if (wants(b.ga))
      for_blocks<T>(b.a.size(), [&](Eigen::Index i, Eigen::Index m, T* p) {
        vec::sigmoid(b.a.data() + i, p, std::size_t(m));
        const auto dz = g * (ConstColumn<T>(p, m) - ConstColumn<T>(b.b.data() + i, m));
        put(Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(b.ga.data() + i, m), dz, b.store_a);
      });
    if (wants(b.gb)) put(b.gb.array(), -g * b.a.array(), b.store_b);
  }
  static constexpr std::array<Domain, 2> domain{{{-4, 4, 0}, {0, 1, 0}}};
};

}  // namespace gradscope::ops
