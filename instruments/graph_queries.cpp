#include "gradscope/instruments/graph_queries.hpp"

#include <algorithm>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/reverse_graph.hpp>
#include <boost/graph/topological_sort.hpp>
#include <iterator>

#include "gradscope/instruments/boost_graph.hpp"

namespace gradscope {

template <class T>
std::vector<bool> reaching(const Graph<T>& g, std::uint32_t target) {
  g.node(target);  // throws Error naming the index when it does not exist
  const BoostGraph b = to_boost(g);
  // Breadth-first search against the data flow: from target back through its inputs.
  std::vector<boost::default_color_type> colour(g.size(), boost::white_color);
  boost::breadth_first_search(boost::make_reverse_graph(b), target,
                              boost::color_map(boost::make_iterator_property_map(
                                  colour.begin(), boost::get(boost::vertex_index, b))));
  std::vector<bool> reaches(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) reaches[i] = colour[i] != boost::white_color;
  return reaches;
}

template <class T>
std::vector<std::uint32_t> depth_from_inputs(const Graph<T>& g) {
  const BoostGraph b = to_boost(g);
  std::vector<BoostGraph::vertex_descriptor> order;
  boost::topological_sort(b, std::back_inserter(order));  // reverse topological order
  std::vector<std::uint32_t> depth(g.size(), 0);
  for (auto it = order.rbegin(); it != order.rend(); ++it)
    for (auto e : boost::make_iterator_range(boost::in_edges(*it, b)))
      depth[*it] = std::max(depth[*it], depth[boost::source(e, b)] + 1);
  return depth;
}

template <class T>
bool is_topologically_ordered(const Graph<T>& g) {
  const BoostGraph b = to_boost(g);
  const auto edges = boost::edges(b);
  return std::all_of(edges.first, edges.second,
                     [&](auto e) { return boost::source(e, b) < boost::target(e, b); });
}

#define GRADSCOPE_INSTANTIATE(T)                                          \
  template std::vector<bool> reaching(const Graph<T>&, std::uint32_t);    \
  template std::vector<std::uint32_t> depth_from_inputs(const Graph<T>&); \
  template bool is_topologically_ordered(const Graph<T>&);
GRADSCOPE_INSTANTIATE(double)
GRADSCOPE_INSTANTIATE(float)
#undef GRADSCOPE_INSTANTIATE

}  // namespace gradscope
