#pragma once
// Statistics of gradient tensors: running sums from which every magnitude the monitor logs and the
// DOT export draws follows, in one vectorised pass per tensor.
#include <cstddef>
#include <cstdint>

namespace gradscope {

// Magnitude of one gradient, or of all gradients in a scope. NaN and ±Inf entries are counted in
// nonfinite and left out of every other figure, so one bad entry does not hide the rest.
struct GradStats {
  double l2 = 0, rms = 0, max_abs = 0, mean_abs = 0;
  double zero_share = 0;  // share of entries exactly 0 (dead ReLUs, unused inputs)
  std::uint64_t elements = 0, nonfinite = 0;
};

// Running sums from which GradStats follow exactly, so scopes aggregate without a second pass.
struct GradSums {
  double sum_sq = 0, sum_abs = 0, max_abs = 0;
  std::uint64_t elements = 0, zeros = 0, nan = 0, inf = 0;

  template <class T>
  void add(const T* data, std::size_t n);
  template <class M>
  void add(const M& contiguous) {
    add(contiguous.data(), std::size_t(contiguous.size()));
  }
  void merge(const GradSums& o);
  GradStats stats() const;
  std::uint64_t nonfinite() const { return nan + inf; }
  bool finite() const { return nonfinite() == 0; }
};

// Σ (g_i σ'_i)² over n elements: the gradient g carried back through an activation σ, whose
// derivative comes from u, the activation's input z (Relu; LeakyRelu with slope `leak` below 0)
// or its output a = σ(z) (Sigmoid: a(1-a); Tanh: 1-a²). Vectorised like GradSums::add; NaN or Inf
// in the data make the sum non-finite.
enum class Slope { Relu, LeakyRelu, Sigmoid, Tanh };
template <class T>
double slope_square_sum(Slope slope, const T* g, const T* u, std::size_t n, double leak = 0);

}  // namespace gradscope
