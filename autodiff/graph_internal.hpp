#pragma once
// What the engine's source files (graph.cpp, backward.cpp, graph_errors.cpp) share: the kernels'
// maps and shape classes, and the description of non-finite elements. Not for users' code.
#include <cmath>
#include <string>
#include <type_traits>

#include "gradscope/autodiff/graph.hpp"

namespace gradscope::detail {

// "2 NaN, 1 inf of 6 elements, first at (0,1)"; empty when every element is finite.
template <class T>
std::string non_finite(ConstMatrixMap<T> m) {
  if (m.allFinite()) return {};
  Eigen::Index nan = 0, inf = 0, first = -1;
  for (Eigen::Index j = 0; j < m.size(); ++j) {
    if (std::isfinite(m(j))) continue;
    ++(std::isnan(m(j)) ? nan : inf);
    if (first < 0) first = j;
  }
  return fmt::format("{} NaN, {} inf of {} elements, first at ({},{})", nan, inf, m.size(),
                     first % m.rows(), first / m.rows());
}

// A map over p of shape class N (see ops/kernel.hpp): s.rows x s.cols, or a fixed 1x1 for N = 1.
template <int N, class P>
auto map_of(P* p, Shape s) {
  using M = Eigen::Matrix<std::remove_const_t<P>, N, N>;
  using Map = Eigen::Map<std::conditional_t<std::is_const_v<P>, const M, M>>;
  if constexpr (N == 1)
    return Map(p);
  else
    return Map(p, s.rows, s.cols);
}

// Whether node n and its inputs a (and b, for binary ops) are all 1x1 (shape index 0): the scalar
// kernels apply.
template <class Node>
bool all_scalar(const Node& n, const Node& a, const Node* b) {
  return (n.shape | a.shape | (b ? b->shape : 0)) == 0;
}

// Calls run with the kernels' shape class: std::integral_constant<int, 1> for all-scalar nodes,
// else <int, Eigen::Dynamic>.
template <class Run>
inline __attribute__((always_inline)) void with_shape_class(bool scalar, Run&& run) {
  if (scalar)
    run(std::integral_constant<int, 1>{});
  else
    run(std::integral_constant<int, Eigen::Dynamic>{});
}

}  // namespace gradscope::detail
