#pragma once
// An activation's φ and φ′ evaluated outside a graph, by the op's own declaration of them.
#include <algorithm>

#include "gradscope/ops/op_table.hpp"

namespace gradscope::ops {

// φ(x) into y and φ′(x) into d, n values each, by op's kernel (K::forward, K::slope) with its
// attribute; any op that is not an activation is the identity (y = x, d = 1), as the models record
// the identity activation by no op.
template <class T>
void activation_values(Op op, T attr, const T* x, T* y, T* d, Eigen::Index n) {
  const bool activation = with_activation(op, [&](auto k) {
    using K = decltype(k);
    Forward<T> f{{x, n, 1}, {nullptr, 0, 0}, {y, n, 1}, attr};
    K::forward(f);
    for (Eigen::Index i = 0; i < n; ++i) d[i] = K::slope(x[i], y[i], attr);
  });
  if (activation) return;
  std::copy(x, x + n, y);
  std::fill(d, d + n, T(1));
}

}  // namespace gradscope::ops
