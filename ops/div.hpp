#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = a / b elementwise (broadcasting); b = 0 gives ±inf or NaN, as IEEE says
struct Div : Elementwise {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    broadcast_forward(f, [](const auto& x, const auto& y) { return x / y; });
  }
  // d/da = 1/b, d/db = -a/b² = -out/b
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    const auto r = b.gout.rows(), c = b.gout.cols();
    const auto bb = expand(b.b, r, c).array();
    if (wants(b.ga)) add_reduced(b.ga, b.gout.array() / bb, b.store_a);
    if (wants(b.gb)) add_reduced(b.gb, -b.gout.array() * b.out.array() / bb, b.store_b);
  }
  static constexpr std::array<Domain, 2> domain{{{-2, 2, 0}, {-2, 2, 0.5}}};
};

}  // namespace gradscope::ops
