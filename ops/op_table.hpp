#pragma once
// The op table: every op gradscope records, declared once. The engine's forward and backward
// dispatch, the DOT exporter and the generic finite-difference test all iterate this list.
// To add an op: write ops/<name>.hpp (forward, backward, shape rule, test domain), add a line here
// and a user-facing function in autodiff/functions.hpp.
#include <cstdint>
#include <string_view>

#include "gradscope/ops/abs.hpp"
#include "gradscope/ops/add.hpp"
#include "gradscope/ops/bce.hpp"
#include "gradscope/ops/bce_with_logits.hpp"
#include "gradscope/ops/concat.hpp"
#include "gradscope/ops/cross_entropy.hpp"
#include "gradscope/ops/div.hpp"
#include "gradscope/ops/exp.hpp"
#include "gradscope/ops/leaky_relu.hpp"
#include "gradscope/ops/log.hpp"
#include "gradscope/ops/log_softmax.hpp"
#include "gradscope/ops/logsumexp.hpp"
#include "gradscope/ops/matmul.hpp"
#include "gradscope/ops/max.hpp"
#include "gradscope/ops/mean.hpp"
#include "gradscope/ops/mse.hpp"
#include "gradscope/ops/mul.hpp"
#include "gradscope/ops/neg.hpp"
#include "gradscope/ops/pow.hpp"
#include "gradscope/ops/relu.hpp"
#include "gradscope/ops/scale.hpp"
#include "gradscope/ops/sigmoid.hpp"
#include "gradscope/ops/slice.hpp"
#include "gradscope/ops/softmax.hpp"
#include "gradscope/ops/softplus.hpp"
#include "gradscope/ops/sqrt.hpp"
#include "gradscope/ops/sub.hpp"
#include "gradscope/ops/sum.hpp"
#include "gradscope/ops/tanh.hpp"
#include "gradscope/ops/transpose.hpp"

// X(enum name = kernel struct in gradscope::ops, name shown to users)
#define GRADSCOPE_OPS(X)                \
  X(Add, "add")                         \
  X(Sub, "sub")                         \
  X(Mul, "mul")                         \
  X(Div, "div")                         \
  X(Neg, "neg")                         \
  X(Scale, "scale")                     \
  X(Matmul, "matmul")                   \
  X(Transpose, "transpose")             \
  X(Sum, "sum")                         \
  X(Mean, "mean")                       \
  X(Max, "max")                         \
  X(Logsumexp, "logsumexp")             \
  X(Slice, "slice")                     \
  X(Concat, "concat")                   \
  X(Exp, "exp")                         \
  X(Log, "log")                         \
  X(Pow, "pow")                         \
  X(Sqrt, "sqrt")                       \
  X(Abs, "abs")                         \
  X(Relu, "relu")                       \
  X(LeakyRelu, "leaky_relu")            \
  X(Sigmoid, "sigmoid")                 \
  X(Tanh, "tanh")                       \
  X(Softplus, "softplus")               \
  X(Softmax, "softmax")                 \
  X(LogSoftmax, "log_softmax")          \
  X(Bce, "bce")                         \
  X(BceWithLogits, "bce_with_logits")   \
  X(CrossEntropy, "cross_entropy")      \
  X(Mse, "mse")

namespace gradscope {

// Leaves first (no kernel), then one code per table entry.
enum class Op : std::uint8_t {
  Constant,  // data: no gradient
  Variable,  // a leaf of this graph that requires a gradient
  Param,     // a Parameter<T>: value and accumulated gradient live outside the graph
#define GRADSCOPE_OP_ENUM(Name, str) Name,
  GRADSCOPE_OPS(GRADSCOPE_OP_ENUM)
#undef GRADSCOPE_OP_ENUM
};

struct OpInfo {
  std::string_view name;
  int arity;
  bool has_attr;
  bool activation;  // its kernel derives from ops::Activation and declares φ′ (slope)
  const char* rule;
};

inline constexpr OpInfo kOpInfo[] = {
    {"constant", 0, false, false, ""},
    {"variable", 0, false, false, ""},
    {"param", 0, false, false, ""},
#define GRADSCOPE_OP_INFO(Name, str) \
  {str, ops::Name::arity, ops::Name::has_attr, ops::is_activation<ops::Name>, ops::Name::rule},
    GRADSCOPE_OPS(GRADSCOPE_OP_INFO)
#undef GRADSCOPE_OP_INFO
};

namespace ops {

// Runs op's backward kernel, dispatching on the op code: for the DOT export's per-edge gradient
// flows. (The engine dispatches once per node to code that knows the kernel: Graph::apply and
// the backward loop.) Leaves have no kernel and do nothing.
template <class T, int N>
void backward(Op op, Backward<T, N>& b) {
  switch (op) {
#define GRADSCOPE_OP_BACKWARD(Name, str) \
  case Op::Name:                         \
    Name::backward(b);                   \
    break;
    GRADSCOPE_OPS(GRADSCOPE_OP_BACKWARD)
#undef GRADSCOPE_OP_BACKWARD
    default:
      break;
  }
}

// Calls f(K{}) with the kernel struct K of an activation op, so that the caller evaluates the
// op's one declaration of φ and φ′ (K::forward, K::slope); returns false for any other op.
template <class F>
bool with_activation(Op op, F&& f) {
  switch (op) {
#define GRADSCOPE_OP_ACTIVATION(Name, str)    \
  case Op::Name:                              \
    if constexpr (is_activation<Name>) {      \
      f(Name{});                              \
      return true;                            \
    } else {                                  \
      return false;                           \
    }
    GRADSCOPE_OPS(GRADSCOPE_OP_ACTIVATION)
#undef GRADSCOPE_OP_ACTIVATION
    default:
      return false;
  }
}

}  // namespace ops

inline constexpr const OpInfo& op_info(Op op) { return kOpInfo[static_cast<int>(op)]; }
inline constexpr bool is_leaf(Op op) { return op <= Op::Param; }

}  // namespace gradscope
