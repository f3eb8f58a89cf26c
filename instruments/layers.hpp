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

// Finds the units of a graph's recording. The units follow from the graph's structure alone (ops,
// inputs, shapes, scopes, layer records), so a training loop that records the same structure every
// iteration has them found once: find() compares the structure with the last call's and keeps the
// last units where it is unchanged. Keeps its working storage, so that a pass allocates nothing once
// the graph's shape is stable.
class LayerFinder {
 public:
  // Finds g's units (units(), note()); returns whether they were found anew (false: g's structure
  // is the last call's, and so are the units).
  template <class T>
  bool find(const Graph<T>& g);
  const std::vector<LayerNodes>& units() const { return units_; }
  // "" when at least one unit was found, else one line saying what was looked for.
  const std::string& note() const { return note_; }
  // Per node of the last graph found: how many nodes consume it, and the last of them (kNoNode if
  // none). The monitor reads the graph's structure from these too.
  const std::vector<std::uint32_t>& consumers() const { return consumers_; }
  const std::vector<std::uint32_t>& last_consumer() const { return last_consumer_; }
  // Per node of the last graph given to find(): its scope and local name (Graph::labels_into),
  // read anew on every call, since names do not change the units.
  const std::vector<NodeLabel>& labels() const { return labels_; }
  std::size_t memory_bytes() const;  // heap bytes held

  // What find() reads of a node; equal keys (and layer records) give equal units.
  struct NodeKey {
    std::uint32_t op_grad, in0, in1, rows, cols, scope;  // op_grad: the op and requires_grad
    bool operator==(const NodeKey& o) const {
      return op_grad == o.op_grad && in0 == o.in0 && in1 == o.in1 && rows == o.rows &&
             cols == o.cols && scope == o.scope;
    }
  };

 private:
  template <class T>
  bool same_structure(const Graph<T>& g);  // also stores g's structure for the next call
  template <class T>
  void search(const Graph<T>& g);

  std::vector<NodeKey> key_;
  std::vector<NodeLabel> labels_;
  std::vector<LayerRecord> records_;
  std::size_t scope_count_ = 0;
  bool found_ = false;  // whether key_ and records_ describe the units held
  std::vector<LayerNodes> units_;
  std::string note_;
  std::vector<std::uint32_t> consumers_, last_consumer_, unit_of_, order_;
  std::vector<std::vector<std::uint32_t>> products_;  // per unit, in creation order
  std::vector<LayerNodes> sorted_;
};

extern template bool LayerFinder::find<double>(const Graph<double>&);
extern template bool LayerFinder::find<float>(const Graph<float>&);

}  // namespace gradscope
