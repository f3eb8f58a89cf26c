#pragma once
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

// out = max(a, 0)
struct Relu : Activation {
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    const T* a = f.a.data();
    T* out = f.out.data();
    const Eigen::Index n = f.a.size();
    // As Eigen's cwiseMax(0): NaN stays NaN, -0 stays -0.
    across_samples<N>([&]() __attribute__((always_inline)) {
      for (Eigen::Index i = 0; i < n; ++i) out[i] = a[i] < T(0) ? T(0) : a[i];
    });
  }
  // φ′(x) = 1 where x > 0, else 0 (0 at the kink, as in the post's relu_gradient). Read from the
  // output y, which is > 0 exactly where x is: backward then reads the values that the consumer's
  // backward just read, not x, last read in the forward pass.
  template <class T>
  static T slope(T, T y, T) {
    return y > T(0) ? T(1) : T(0);
  }
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    backward_by_slope<Relu>(b);
  }
  static constexpr std::array<Domain, 1> domain{{{-2, 2, 0.1}}};
};

}  // namespace gradscope::ops
