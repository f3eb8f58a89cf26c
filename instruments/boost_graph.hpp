#pragma once
// The recorded graph as a Boost.Graph adjacency_list, for running Boost's algorithms on it.
//
// Opt-in: this header needs Boost.Graph's headers; the rest of gradscope's public headers do not.
// Vertex i is node i (creation order); one edge per operand, from the input to the node that
// consumes it (data-flow direction), so a node used twice by one op has two parallel edges.
#include <boost/graph/adjacency_list.hpp>

#include "gradscope/autodiff/graph.hpp"

namespace gradscope {

struct BoostEdge {
  int operand;  // which input of the consuming node this edge feeds (0 or 1)
};

// bidirectionalS: the queries walk both ways (consumers forward, inputs backward).
using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS,
                                         boost::no_property, BoostEdge>;

template <class T>
BoostGraph to_boost(const Graph<T>& g) {
  BoostGraph b(g.size());
  for (std::uint32_t i = 0; i < g.size(); ++i) {
    const NodeView<T> n = g.node(i);
    for (int k = 0; k < n.arity(); ++k) boost::add_edge(n.input(k), i, BoostEdge{k}, b);
  }
  return b;
}

}  // namespace gradscope
