#pragma once
// What every network of the model library offers the training loop, the command line and the
// instruments: a forward pass that records one LayerOutput per unit (a layer or a residual block,
// each in its own layer record, Graph::layer), its parameters, and its number of inputs.
// Implemented by Mlp (mlp.hpp) and ResidualMlp (residual.hpp).
#include <vector>

#include "gradscope/models/dense.hpp"

namespace gradscope::models {

// Every unit's nodes from one forward pass, unit 1 (next to the input) first.
template <class T>
struct NetworkForward {
  std::vector<LayerOutput<T>> layers;
  const LayerOutput<T>& output() const { return layers.back(); }
};

template <class T>
class Network {
 public:
  virtual ~Network() = default;
  // x: inputs x m, a node of any graph (usually a constant).
  virtual NetworkForward<T> forward(Var<T> x) = 0;
  virtual std::vector<Parameter<T>*> parameters() = 0;
  virtual Eigen::Index inputs() const = 0;
};

}  // namespace gradscope::models
