#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// Binary cross-entropy on probabilities p against targets y, averaged over all n elements:
// out = -mean(y ln p + (1 - y) ln(1 - p)); p of exactly 0 or 1 gives inf (use BceWithLogits)
struct Bce : Loss {
  static constexpr bool stores_first = true;
  // p outside [0, 1] would give NaN silently. A NaN p passes, as through every op (anomaly
  // detection names where it arose).
  template <class T, int N>
  static Rejection reject(const Value<T, N>& p, const Value<T, N>&) {
    const bool outside = ((p.array() < T(0)) || (p.array() > T(1))).any();
    return {0, outside ? "bce takes probabilities in [0, 1] (for logits use bce_with_logits)"
                       : nullptr};
  }
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    const auto p = f.a.array(), y = f.b.array();
    f.out(0, 0) = -(y * p.log() + (T(1) - y) * (T(1) - p).log()).mean();
  }
  // d/dp = (p - y) / (p(1 - p)) / n,  d/dy = (ln(1 - p) - ln p) / n
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    const auto p = b.a.array(), y = b.b.array();
    const T g = b.gout(0, 0) / T(b.a.size());
    if (wants(b.ga)) put(b.ga.array(), g * (p - y) / (p * (T(1) - p)), b.store_a);
    if (wants(b.gb)) put(b.gb.array(), g * ((T(1) - p).log() - p.log()), b.store_b);
  }
  static constexpr std::array<Domain, 2> domain{{{0.05, 0.95, 0}, {0, 1, 0}}};
};

}  // namespace gradscope::ops
