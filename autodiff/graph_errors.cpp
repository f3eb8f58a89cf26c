// The engine's errors: bad handles and operands, a root that needs no gradient, a gradient read
// before backward gave it, and anomaly detection's checks of values and gradients. Each names the
// node, its op and shape, and where the user's code created it.
#include <string>

#include "gradscope/autodiff/graph.hpp"
#include "gradscope/autodiff/graph_internal.hpp"

namespace gradscope {

using detail::non_finite;

namespace {

template <class T>
std::string range_of(ConstMatrixMap<T> m) {
  return fmt::format("[{:.6g}, {:.6g}]", double(m.minCoeff()), double(m.maxCoeff()));
}

}  // namespace

template <class T>
void Graph<T>::bad_handle(const Var<T>& v, std::string_view what) const {
  if (!v.graph_) fail("{}: empty node handle (default-constructed Var)", what);
  if (v.graph_ != this) fail("{}: node #{} belongs to another graph", what, v.index_);
  fail("{}: node #{} is from before the graph was cleared, or from a graph since destroyed; "
       "record it again", what, v.index_);
}

template <class T>
void Graph<T>::no_gradient(std::uint32_t i) const {
  const char* why = !backward_count_  ? "backward() has not run on this graph"
                    : i >= grads_to_  ? "node was recorded after the last backward()"
                    : in_backward_    ? "backward has not reached it yet in this pass; a hook or "
                                        "observer may read the gradient of the node it is called "
                                        "for and of nodes created after it"
                                      : "the last backward() stopped with an Error before it "
                                        "reached this node";
  fail("gradient of '{}': {}", node_name(i), why);
}

template <class T>
void Graph<T>::bad_operands(Op op, std::uint32_t in0, std::uint32_t in1, T attr) const {
  const OpInfo& info = op_info(op);
  const std::uint32_t in[2] = {in0, in1};
  std::string operands;
  for (int j = 0; j < info.arity; ++j)
    operands += fmt::format("{}'{}' is {}", j ? ", " : "", node_name(in[j]),
                            shape_of(nodes_[in[j]]));
  if (info.has_attr) operands += fmt::format(", attribute {}", double(attr));
  fail("{}: {} ({})", info.name, operands, info.rule);
}

template <class T>
void Graph<T>::no_gradient_root(std::uint32_t root) const {
  const Op op = nodes_[root].op;
  if (op == Op::Variable || op == Op::Param)
    fail("backward: root '{}' is a {} recorded under no_grad, so it needs no gradient; record it "
         "outside no_grad", node_name(root), op_info(op).name);
  // The variables and parameters root depends on: each was recorded under no_grad, or root
  // depends on it only through a node that was.
  std::vector<bool> upstream(root + 1);
  upstream[root] = true;
  std::string leaves;
  std::size_t count = 0;
  for (std::uint32_t i = root + 1; i-- > 0;) {
    if (!upstream[i]) continue;
    const Node& n = nodes_[i];
    if (n.op == Op::Variable || n.op == Op::Param) {
      if (++count <= 3) leaves += fmt::format("{}'{}'", leaves.empty() ? "" : ", ", node_name(i));
      continue;
    }
    for (int k = 0; k < op_info(n.op).arity; ++k) upstream[n.in[k]] = true;
  }
  if (count == 0)
    fail("backward: root '{}' does not depend on any variable or parameter, only on constants",
         node_name(root));
  fail("backward: root '{}' needs no gradient: it reads {} variable(s) or parameter(s) ({}{}), but "
       "through nodes recorded under no_grad (the root itself, a node between, or the leaves); "
       "record what backward should differentiate outside no_grad",
       node_name(root), count, leaves, count > 3 ? ", ..." : "");
}

template <class T>
void Graph<T>::bad_values(Op op, std::uint32_t in0, std::uint32_t in1, ops::Rejection r,
                          SourceLoc loc) const {
  const std::uint32_t in = r.input ? in1 : in0;
  const std::string at = loc.file ? fmt::format(" at {}:{}", loc.file, loc.line) : "";
  std::string element;
  if (r.element >= 0) {  // an index: the element, and the input it indexes
    const auto rows = Eigen::Index(shape_of(nodes_[in]).rows);
    element = fmt::format("; element ({},{}) of '{}' is {}", r.element % rows, r.element / rows,
                          node_name(in), double(value_ptr(nodes_[in])[r.element]));
    if (op_info(op).arity > 1) {
      const std::uint32_t other = r.input ? in0 : in1;
      element += fmt::format(", where '{}' is {}", node_name(other), shape_of(nodes_[other]));
    }
  }
  fail("{}{}: input {} '{}' ({}) holds values in {}: {}{}", op_info(op).name, at, r.input,
       node_name(in), shape_of(nodes_[in]), range_of<T>(NodeView<T>(*this, in).value()), r.why,
       element);
}

// --- anomaly detection ---------------------------------------------------------------------------

template <class T>
std::string Graph<T>::describe(std::uint32_t i) const {
  const NodeView<T> v(*this, i);
  const SourceLoc loc = v.location();
  const std::string where = loc.file ? fmt::format("{}:{}", loc.file, loc.line)
                                     : "an unknown line: recorded before anomaly detection was on";
  return fmt::format("'{}' ({} {}, created at {})", v.name(), v.op_name(), v.shape(), where);
}

template <class T>
void Graph<T>::check_value(std::uint32_t i) const {
  const NodeView<T> v(*this, i);
  const std::string bad = non_finite(v.value());
  if (bad.empty()) return;
  std::string inputs;
  for (int k = 0; k < v.arity(); ++k) {
    const NodeView<T> in(*this, v.input(k));
    inputs += fmt::format("; input '{}' {} in {}", in.name(), in.shape(), range_of<T>(in.value()));
  }
  fail("anomaly: value of {} is not finite ({}){}", describe(i), bad, inputs);
}

template <class T>
void Graph<T>::check_backward(std::uint32_t i) const {
  const NodeView<T> v(*this, i);
  for (int k = 0; k < v.arity(); ++k) {
    const std::uint32_t in = v.input(k);
    if (!(nodes_[in].flags & kRequiresGrad)) continue;
    const std::string bad = non_finite(grad_slot(in));
    if (bad.empty()) continue;
    std::string values;
    for (int j = 0; j < v.arity(); ++j) {
      const NodeView<T> x(*this, v.input(j));
      values += fmt::format("; input '{}' {} in {}", x.name(), x.shape(), range_of<T>(x.value()));
    }
    fail("anomaly: backward of {} made the gradient of input {} {} not finite ({}); incoming "
         "gradient in {}{}",
         describe(i), k, describe(in), bad, range_of<T>(v.grad()), values);
  }
}

template <class T>
void Graph<T>::check_hooked_gradient(std::uint32_t i) const {
  const std::string bad = non_finite(grad_slot(i));
  if (!bad.empty())
    fail("anomaly: a hook left the gradient of {} not finite ({})", describe(i), bad);
}

// Defined here, so instantiated here: Graph<T> itself is instantiated in graph.cpp.
#define GRADSCOPE_INSTANTIATE_ERRORS(T)                                                           \
  template void Graph<T>::bad_handle(const Var<T>&, std::string_view) const;                      \
  template void Graph<T>::no_gradient(std::uint32_t) const;                                       \
  template void Graph<T>::bad_operands(Op, std::uint32_t, std::uint32_t, T) const;                \
  template void Graph<T>::no_gradient_root(std::uint32_t) const;                                  \
  template void Graph<T>::bad_values(Op, std::uint32_t, std::uint32_t, ops::Rejection,           \
                                     SourceLoc) const;                                            \
  template std::string Graph<T>::describe(std::uint32_t) const;                                   \
  template void Graph<T>::check_value(std::uint32_t) const;                                       \
  template void Graph<T>::check_backward(std::uint32_t) const;                                    \
  template void Graph<T>::check_hooked_gradient(std::uint32_t) const;
GRADSCOPE_INSTANTIATE_ERRORS(double)
GRADSCOPE_INSTANTIATE_ERRORS(float)
#undef GRADSCOPE_INSTANTIATE_ERRORS

}  // namespace gradscope
