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
    T sum(0);
    for_blocks<T>(f.a.size(), [&](Eigen::Index i, Eigen::Index m, T* tail) {
      const ConstColumn<T> z(f.a.data() + i, m), y(f.b.data() + i, m);
      vec::log1p_exp_neg_abs(z.data(), tail, std::size_t(m));
      sum += (z.max(T(0)) - z * y + ConstColumn<T>(tail, m)).sum();
    });
    f.out(0, 0) = sum / T(f.a.size());
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
