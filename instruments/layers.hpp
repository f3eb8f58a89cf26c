#pragma once
// The units of a network (layers, residual blocks, time steps) as the diagnosis reads them.
//
// A unit is a layer record (Graph::layer, Graph::mark: the nodes recorded in its scope from its
// opening on) or, in a graph that has none, a scope holding a matrix product on the gradient path. Its parts come from the record where marked, and
// otherwise from the structure, in the unit's scope:
//   product  a matmul; where a unit holds several, the one fed by the previous unit's output
//   z        the product followed through the bias additions (an add or sub of the product's
//            shape that is its only consumer), or the marked pre-activation
//   a        z's only consumer where that is an activation op, else z itself (identity)
//   w        the product's weight side: the input that is a parameter or variable, directly or
//            transposed (input 0 when neither or both are)
//   b        the leaf added to the product on the way to z, if any
//   affine   whether z is the product plus its biases (z = Wa + b), the form mean-field theory
//            reads; not where z is marked beyond them (a normalised z, a residual block's sum)
// Units are ordered by the creation of their z: for a stack, from the input to the loss.
// Names play no part: a network recorded with any scope names and no node names is found.
#include <cstdint>
#include <string>
#include <vector>

#include "gradscope/autodiff/graph.hpp"

namespace gradscope {

struct LayerNodes {
  std::uint32_t scope = 0;
  std::uint32_t product = kNoNode, z = kNoNode, a = kNoNode;
  std::uint32_t w = kNoNode;       // the product's weight-side input (may be a transpose)
  std::uint32_t param = kNoNode;   // the Parameter or variable leaf behind w, if any
  std::uint32_t b = kNoNode;       // the bias leaf, if any
  bool affine = false;             // z = product + biases (see above)
};

// Finds the units of a graph's recording. Keeps its working storage, so that finding them on every
// pass of a training loop allocates nothing once the graph's shape is stable.
class LayerFinder {
 public:
  // The units into out. Returns "" when at least one was found, else one line saying what was
  // looked for.
  template <class T>
  std::string find(const Graph<T>& g, std::vector<LayerNodes>& out);

 private:
  std::vector<std::uint32_t> scope_, consumers_, last_consumer_, unit_of_, order_;
  std::vector<std::vector<std::uint32_t>> products_;  // per unit, in creation order
  std::vector<LayerNodes> sorted_;
};

extern template std::string LayerFinder::find<double>(const Graph<double>&, std::vector<LayerNodes>&);
extern template std::string LayerFinder::find<float>(const Graph<float>&, std::vector<LayerNodes>&);

}  // namespace gradscope
