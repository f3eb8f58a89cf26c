#pragma once
// The op that records an activation, for evaluating its φ and φ′ outside a graph
// (ops::activation_values): the mean-field theory and the sweep ask the op, as the layers do.
#include "gradscope/models/activation.hpp"

namespace gradscope::models {

struct ActivationOp {
  Op op;        // Op::Constant for the identity, which records no op
  double attr;  // the op's attribute (leaky_relu's slope)
};
ActivationOp activation_op(Activation act);

}  // namespace gradscope::models
