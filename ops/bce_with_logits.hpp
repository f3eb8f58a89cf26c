#pragma once
#include <algorithm>
#include <array>

#include "gradscope/ops/kernel.hpp"
#include "gradscope/ops/vector_math.hpp"

namespace gradscope::ops {

// Binary cross-entropy on logits z (p = σ(z)) against targets y, averaged over all n elements.
// Fused for numerical stability: out = mean(max(z, 0) - z y + ln(1 + e⁻|ᶻ|)) stays finite for any
// finite z, where σ followed by Bce gives inf once σ(z) rounds to 0 or 1.
struct BceWithLogits : Loss {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    // ln(1 + e⁻|ᶻ|) over a block of z into a buffer on the stack (vector_math.hpp), then the
    // block's sum
    using Block = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
    constexpr Eigen::Index kBlock = 256;
    std::array<T, kBlock> tail;
    const Eigen::Index n = f.a.size();
    T sum(0);
    for (Eigen::Index i = 0; i < n; i += kBlock) {
      const Eigen::Index m = std::min(kBlock, n - i);
      const Block z(f.a.data() + i, m), y(f.b.data() + i, m);
      log1p_exp_neg_abs(z.data(), tail.data(), std::size_t(m));
      sum += (z.max(T(0)) - z * y + Block(tail.data(), m)).sum();
    }
    f.out(0, 0) = sum / T(n);
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
