#pragma once
// Structural questions about a recorded graph, answered through its Boost.Graph mirror
// (instruments/boost_graph.hpp), without Boost in this header.
#include <cstdint>
#include <vector>

#include "gradscope/autodiff/graph.hpp"

namespace gradscope {

// reaches[i] is true when node i lies on a data-flow path to target (target included): the nodes
// a backward pass from target can reach, i.e. everything the loss depends on.
template <class T>
std::vector<bool> reaching(const Graph<T>& g, std::uint32_t target);

// Length of the longest path from any leaf (constant, variable, parameter) to each node; leaves
// have depth 0. In the post's network (z = wᵀa + b, a = σ(z)) layer l's "a" sits at depth 3l + 1.
template <class T>
std::vector<std::uint32_t> depth_from_inputs(const Graph<T>& g);

// True when creation order is a topological order (every edge runs from an earlier node to a
// later one) — the invariant that lets backward be one reverse loop.
template <class T>
bool is_topologically_ordered(const Graph<T>& g);

}  // namespace gradscope
