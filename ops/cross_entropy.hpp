#pragma once
#include "gradscope/ops/reduction.hpp"

namespace gradscope::ops {

// Softmax cross-entropy of logits z (classes x samples, one column per sample) against class
// labels y (1 x samples, each a class index), averaged over the n samples:
//   out = (1/n) Σ_j (ln Σ_c exp(z_cj) - z_{y_j j}), with the column's largest element taken out
// of both terms (max_and_exp_sum), so it is finite for any finite logits.
// Fused like bce_with_logits rather than composed from log_softmax and a gather: a gather would
// be an op of its own for this one use, and the composition records a classes x samples
// intermediate; fused, the backward is the familiar (p - onehot(y)) / n directly.
struct CrossEntropy : Loss {
  static constexpr bool stores_first = true, no_grad_b = true;
  static constexpr const char* rule =
      "logits are classes x samples, labels 1 x samples, each a class index 0 to classes - 1";
  static Shape shape(Shape z, Shape y, double) {
    return y.rows == 1 && y.cols == z.cols ? Shape{1, 1} : Shape{};
  }
  // The first label that is not a whole number in [0, classes).
  template <class T, int N>
  static Rejection reject(const Value<T, N>& z, const Value<T, N>& y) {
    for (Eigen::Index j = 0; j < y.size(); ++j)
      if (!whole_below(double(y(j)), double(z.rows()))) return {1, rule, j};
    return {1, nullptr};
  }
  template <class T, int N>
  static void forward(Forward<T, N>& f) {
    T sum(0);
    for (Eigen::Index j = 0; j < f.a.cols(); ++j) {
      const auto [m, s] = max_and_exp_sum(f.a.col(j));
      sum += std::log(s) - (f.a(Eigen::Index(f.b(j)), j) - m);  // ln Σ exp(z) - z_y, m cancelling
    }
    f.out(0, 0) = sum / T(f.a.cols());
  }
  // d/dz_cj = (p_cj - [c = y_j]) / n with p the softmax of column j; labels get no gradient (a
  // class index has no neighbours to differentiate towards; labels recorded as a variable get 0)
  template <class T, int N>
  static void backward(Backward<T, N>& b) {
    if (!wants(b.ga)) return;
    const T g = b.gout(0, 0) / T(b.a.cols());
    for (Eigen::Index j = 0; j < b.a.cols(); ++j) {
      const auto z = b.a.col(j);
      const auto [m, s] = max_and_exp_sum(z);
      put(b.ga.col(j).array(), (g / s) * (z.array() - m).exp(), b.store_a);
      b.ga(Eigen::Index(b.b(j)), j) -= g;
    }
  }
  static constexpr std::array<ShapePair, 4> test_shapes{
      {{{3, 4}, {1, 4}}, {{3, 1}, {1, 1}}, {{5, 6}, {1, 6}}, {{4, 2}, {1, 2}}}};
  static constexpr std::array<Domain, 2> domain{{{-4, 4, 0}, {0, 3, 0, true}}};
};

}  // namespace gradscope::ops
