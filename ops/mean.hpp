#pragma once
#include "gradscope/ops/reduction.hpp"

namespace gradscope::ops {

// out = mean of a over every element, down the rows or across the columns (Reduction's axis)
struct Mean : Reduction {
  static constexpr bool stores_first = true;
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    reduce_forward(f.out, f.a, f.attr);
    f.out /= T(count(Shape{std::uint32_t(f.a.rows()), std::uint32_t(f.a.cols())}, f.attr));
  }
  // d/da_ij = 1/n, n the number of elements averaged
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    const T n = T(count(Shape{std::uint32_t(b.a.rows()), std::uint32_t(b.a.cols())}, b.attr));
    put(b.ga, expand(b.gout, b.ga.rows(), b.ga.cols()) / n, b.store_a);
  }
};

}  // namespace gradscope::ops
