#include "gradscope/autodiff/graph.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iterator>
#include <limits>
#include <type_traits>

namespace gradscope {

namespace {

template <class T>
std::string range_of(ConstMatrixMap<T> m) {
  return fmt::format("[{:.6g}, {:.6g}]", double(m.minCoeff()), double(m.maxCoeff()));
}

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

// A new epoch for a graph: see Graph::check.
std::uint64_t next_epoch() {
  static std::atomic<std::uint64_t> last{0};
  return ++last;
}

// Ops whose inputs have a domain their shapes do not express (bce: probabilities) define
// K::reject(a, b), which returns what is wrong with the input values, or nullptr.
template <class K, class = void>
struct HasReject : std::false_type {};
template <class K>
struct HasReject<K, std::void_t<decltype(&K::template reject<double, Eigen::Dynamic>)>>
    : std::true_type {};

}  // namespace

template <class T>
Graph<T>::Graph() : epoch_(next_epoch()) {
  intern("");                    // string 0: the empty name
  scopes_.push_back({0});        // scope 0: top level
  shapes_.push_back({1, 1});     // shape 0: a scalar
}

template <class T>
std::uint16_t Graph<T>::intern_shape(Shape s, Op op) {
  if (s.scalar()) return kScalarShape;
  const std::uint64_t key = (std::uint64_t{s.rows} << 32) | s.cols;
  if (auto it = shape_ids_.find(key); it != shape_ids_.end()) return it->second;
  if (shapes_.size() > std::numeric_limits<std::uint16_t>::max())
    fail("{}: {} would be this graph's 65537th distinct shape; a graph holds at most 65536 "
         "(kept across clear()); record graphs of ever-new shapes in new Graph objects",
         op_info(op).name, s);
  const auto id = std::uint16_t(shapes_.size());
  shapes_.push_back(s);
  shape_ids_.emplace(key, id);
  return id;
}

template <class T>
std::uint32_t Graph<T>::scope_of(std::uint32_t i) const {
  const auto it = std::upper_bound(scope_runs_.begin(), scope_runs_.end(), i,
                                   [](std::uint32_t x, const ScopeRun& r) { return x < r.first; });
  return it == scope_runs_.begin() ? 0 : std::prev(it)->scope;
}

template <class T>
std::uint32_t Graph<T>::name_of(std::uint32_t i) const {
  const auto it = std::lower_bound(names_.begin(), names_.end(), i,
                                   [](const NodeName& n, std::uint32_t x) { return n.node < x; });
  return it != names_.end() && it->node == i ? it->name : 0;
}

template <class T>
void Graph<T>::labels_into(std::vector<Label>& out) const {
  out.resize(nodes_.size());
  auto run = scope_runs_.begin();
  auto name = names_.begin();
  std::uint32_t scope = 0;
  for (std::uint32_t i = 0; i < out.size(); ++i) {
    for (; run != scope_runs_.end() && run->first <= i; ++run) scope = run->scope;
    const bool named = name != names_.end() && name->node == i;
    out[i] = {scope, named ? std::string_view(strings_[name->name]) : std::string_view()};
    if (named) ++name;
  }
}

template <class T>
void Graph<T>::set_name(std::uint32_t i, std::uint32_t name) {
  // Leaves are named as they are recorded, so the common case appends.
  const auto it = std::lower_bound(names_.begin(), names_.end(), i,
                                   [](const NodeName& n, std::uint32_t x) { return n.node < x; });
  if (it != names_.end() && it->node == i) {
    if (name)
      it->name = name;
    else
      names_.erase(it);
  } else if (name) {
    names_.insert(it, {i, name});
  }
}

template <class T>
std::uint32_t Graph<T>::intern(std::string_view s) {
  if (auto it = string_ids_.find(s); it != string_ids_.end()) return it->second;
  const auto id = std::uint32_t(strings_.size());
  strings_.emplace_back(s);  // deque: earlier strings (and the views keyed on them) never move
  string_ids_.emplace(strings_.back(), id);
  return id;
}

template <class T>
std::string Graph<T>::node_name(std::uint32_t i) const {
  std::string s;
  node_name_into(i, s);
  return s;
}

template <class T>
void Graph<T>::node_name_into(std::uint32_t i, std::string& out) const {
  out.assign(scope_path(scope_of(i)));
  if (!out.empty()) out += '/';
  if (const std::uint32_t name = name_of(i))
    out += strings_[name];
  else
    fmt::format_to(std::back_inserter(out), "{}#{}", op_info(nodes_[i].op).name, i);
}

template <class T>
void Graph<T>::bad_handle(const Var<T>& v, std::string_view what) const {
  if (!v.graph_) fail("{}: empty node handle (default-constructed Var)", what);
  if (v.graph_ != this) fail("{}: node #{} belongs to another graph", what, v.index_);
  fail("{}: node #{} is from before the graph was cleared, or from a graph since destroyed; "
       "record it again", what, v.index_);
}

template <class T>
std::size_t Graph<T>::bytes() const {
  return nodes_.size() * sizeof(Node) + (values_.size() + grads_.size()) * sizeof(T) +
         params_.size() * sizeof(params_[0]) + locations_.size() * sizeof(SourceLoc) +
         scope_runs_.size() * sizeof(ScopeRun) + names_.size() * sizeof(NodeName);
}

template <class T>
NodeView<T> Graph<T>::node(std::uint32_t index) const {
  if (index >= nodes_.size()) fail("node #{} does not exist (graph has {} nodes)", index, nodes_.size());
  return NodeView<T>(*this, index);
}

template <class T>
ConstMatrixMap<T> NodeView<T>::grad() const {
  if (!has_grad()) g_->no_gradient(i_);
  return g_->grad_slot(i_);
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
const T* Graph<T>::param_value(const Node& n) const {
  // A Parameter's value may be reassigned after it was recorded; reading a matrix of another
  // shape with the recorded one would run off its end.
  const Matrix<T>& v = params_[n.in[0]]->value;
  const Shape s = shape_of(n);
  if (v.rows() != s.rows || v.cols() != s.cols)
    fail("parameter '{}' was {} when recorded but is now {}x{}; record the graph again",
         node_name(std::uint32_t(&n - nodes_.data())), s, v.rows(), v.cols());
  return v.data();
}

// --- recording -------------------------------------------------------------------------------------

// push_node is forced inline into record: recording a scalar op takes 105-128 instructions, and a
// call would add its argument passing and register saves to every one.
template <class T>
inline __attribute__((always_inline)) std::uint32_t Graph<T>::push_node(
    Op op, std::uint16_t shape, std::size_t size, std::uint32_t in0, std::uint32_t in1,
    bool requires_grad, bool with_attr, SourceLoc loc) {
  // A hook or observer recording into the graph it is watching would move the nodes and values
  // the running backward loop holds.
  if (kHooksCompiledIn && in_backward_)
    fail("{}: recording into the graph during its backward (from a hook or observer); record in "
         "another graph, or after backward() returns", op_info(op).name);
  const std::size_t offset = values_.size();
  const std::size_t end = offset + size + (with_attr ? 1 : 0);
  // Every node holds at least one element, so a node count within the limit follows.
  if (end > std::numeric_limits<std::uint32_t>::max())
    fail("{}: graph is full (2^32 nodes or elements); clear() it between iterations",
         op_info(op).name);
  values_.resize(end);
  const auto index = std::uint32_t(nodes_.size());
  // Field by field into the vector: a Node built on the stack and copied is read back as one
  // 16-byte load from six narrower stores, which the CPU cannot forward (a stall per op).
  Node& node = nodes_.emplace_back();
  node.in[0] = in0;
  node.in[1] = in1;
  node.offset = std::uint32_t(offset);
  node.op = op;
  node.flags = std::uint8_t(requires_grad && grad_enabled_ ? kRequiresGrad : 0);
  node.shape = shape;
  if (current_scope_ != (scope_runs_.empty() ? 0 : scope_runs_.back().scope))
    scope_runs_.push_back({index, current_scope_});
  if (anomaly_) {
    locations_.resize(nodes_.size());
    locations_[index] = loc;
  }
  return index;
}

template <class T>
Var<T> Graph<T>::leaf(Op op, Shape shape, const T* data, std::uint32_t extra, std::string_view name,
                      bool requires_grad, SourceLoc loc) {
  if (shape.size() == 0)
    fail("{} {}: empty tensor ({}) created at {}:{}; values need at least one element",
         op_info(op).name, name.empty() ? std::string("(unnamed)") : fmt::format("'{}'", name),
         shape, loc.file ? loc.file : "?", loc.line);
  const auto i =
      push_node(op, intern_shape(shape, op), shape.size(), extra, 0, requires_grad, false, loc);
  if (!name.empty()) set_name(i, intern(name));
  if (data) std::copy(data, data + shape.size(), values_.data() + nodes_[i].offset);
  if (anomaly_) check_value(i);
  return Var<T>(this, i, epoch_);
}

template <class T>
Var<T> Graph<T>::constant(const Matrix<T>& v, std::string_view name, SourceLoc loc) {
  return leaf(Op::Constant, {std::uint32_t(v.rows()), std::uint32_t(v.cols())}, v.data(), 0, name,
              false, loc);
}
template <class T>
Var<T> Graph<T>::constant(T v, std::string_view name, SourceLoc loc) {
  return leaf(Op::Constant, {1, 1}, &v, 0, name, false, loc);
}
template <class T>
Var<T> Graph<T>::variable(const Matrix<T>& v, std::string_view name, SourceLoc loc) {
  return leaf(Op::Variable, {std::uint32_t(v.rows()), std::uint32_t(v.cols())}, v.data(), 0, name,
              true, loc);
}
template <class T>
Var<T> Graph<T>::variable(T v, std::string_view name, SourceLoc loc) {
  return leaf(Op::Variable, {1, 1}, &v, 0, name, true, loc);
}
template <class T>
Var<T> Graph<T>::param(Parameter<T>& p, SourceLoc loc) {
  auto& s = p.storage("param");
  if (s.grad.rows() != s.value.rows() || s.grad.cols() != s.value.cols())
    fail("param '{}': value is {}x{} but grad() is {}x{}; give both the same shape", s.name,
         s.value.rows(), s.value.cols(), s.grad.rows(), s.grad.cols());
  params_.push_back(&s);
  // The value stays in the Parameter; the arena slot holds this pass's gradient only.
  return leaf(Op::Param, p.shape(), nullptr, std::uint32_t(params_.size() - 1), p.name(), true, loc);
}

template <class T>
void Graph<T>::bad_operands(Op op, std::uint32_t in0, std::uint32_t in1, T attr,
                            Eigen::Index bad) const {
  const OpInfo& info = op_info(op);
  const std::uint32_t in[2] = {in0, in1};
  std::string operands;
  for (int j = 0; j < info.arity; ++j)
    operands += fmt::format("{}'{}' is {}", j ? ", " : "", node_name(in[j]),
                            shape_of(nodes_[in[j]]));
  if (info.has_attr) operands += fmt::format(", attribute {}", double(attr));
  if (bad >= 0) {
    const auto rows = Eigen::Index(shape_of(nodes_[in1]).rows);
    operands += fmt::format("; element ({},{}) of '{}' is {}", bad % rows, bad / rows,
                            node_name(in1), double(value_ptr(nodes_[in1])[bad]));
  }
  fail("{}: {} ({})", info.name, operands, info.rule);
}

namespace {
// Whether kernel K checks its operands' values (ops/kernel.hpp: first_bad).
template <class K, class T, class = void>
struct checks_values : std::false_type {};
template <class K, class T>
struct checks_values<K, T,
                     std::void_t<decltype(K::first_bad(std::declval<ops::Value<T>>(),
                                                       std::declval<ops::Value<T>>()))>>
    : std::true_type {};
}  // namespace

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
void Graph<T>::bad_values(Op op, int k, std::uint32_t in, const char* why, SourceLoc loc) const {
  const std::string at = loc.file ? fmt::format(" at {}:{}", loc.file, loc.line) : "";
  fail("{}{}: input {} '{}' ({}) holds values in {}: {}", op_info(op).name, at, k, node_name(in),
       shape_of(nodes_[in]), range_of<T>(NodeView<T>(*this, in).value()), why);
}

template <class T>
template <class K, Op op>
Var<T> Graph<T>::record(std::initializer_list<Var<T>> inputs, T attr, SourceLoc loc) {
  constexpr bool binary = K::arity > 1;
  const std::string_view name = op_info(op).name;
  if (int(inputs.size()) != K::arity)
    fail("{}: takes {} input(s), got {}", name, K::arity, inputs.size());
  // The inputs in scalars rather than arrays: arrays filled one element at a time and then copied
  // whole into the node stall the CPU's store-to-load forwarding, on every op.
  const std::uint32_t in0 = check(inputs.begin()[0], name);
  const std::uint32_t in1 = binary ? check(inputs.begin()[1], name) : 0;
  const std::uint16_t shape0 = nodes_[in0].shape;
  const std::uint16_t shape1 = binary ? nodes_[in1].shape : kScalarShape;
  const bool requires_grad =
      (nodes_[in0].flags | (binary ? nodes_[in1].flags : 0)) & kRequiresGrad;
  std::uint32_t i = 0;
  // Scalar operands (shape index 0) are the scalar tape's every op: with their shapes known at
  // compile time, the shape rule, the output's size and the kernel's shape class fold away.
  with_shape_class((shape0 | shape1) == kScalarShape, [&](auto operand_class) {
    constexpr bool scalar = decltype(operand_class)::value == 1;
    const Shape s0 = scalar ? Shape{1, 1} : shapes_[shape0];
    const Shape s1 = scalar ? Shape{1, 1} : binary ? shapes_[shape1] : Shape{};
    const Shape out = K::shape(s0, s1, double(attr));
    if (out.size() == 0) bad_operands(op, in0, in1, attr);
    if constexpr (checks_values<K, T>::value) {
      const ops::Value<T> v0(value_ptr(nodes_[in0]), s0.rows, s0.cols);
      const ops::Value<T> v1(value_ptr(nodes_[in1]), s1.rows, s1.cols);
      const Eigen::Index bad = K::first_bad(v0, v1);
      if (bad >= 0) bad_operands(op, in0, in1, attr, bad);
    }
    // Most ops keep an operand's shape: reuse its index instead of looking the shape up.
    const std::uint16_t out_id = out == s0 ? shape0 : out == s1 ? shape1 : intern_shape(out, op);
    if constexpr (HasReject<K>::value) {
      using Map = ops::Value<T, Eigen::Dynamic>;
      const Map a(value_ptr(nodes_[in0]), s0.rows, s0.cols);
      const Map b(binary ? value_ptr(nodes_[in1]) : nullptr, s1.rows, s1.cols);
      if (const auto [k, why] = K::reject(a, b); why) bad_values(op, k, k ? in1 : in0, why, loc);
    }
    i = push_node(op, out_id, out.size(), in0, in1, requires_grad, K::has_attr, loc);
    const Node& n = nodes_[i];
    if (K::has_attr) values_[n.offset + out.size()] = attr;
    const Node& a = nodes_[in0];
    const Node* b = binary ? &nodes_[in1] : nullptr;
    with_shape_class(scalar && out.scalar(), [&](auto shape_class) {
      constexpr int N = decltype(shape_class)::value;
      ops::Forward<T, N> f{map_of<N>(value_ptr(a), s0), map_of<N>(b ? value_ptr(*b) : nullptr, s1),
                           map_of<N>(values_.data() + n.offset, out), attr};
      K::forward(f);
    });
  });
  if (anomaly_) check_value(i);
  return Var<T>(this, i, epoch_);
}

// --- backward --------------------------------------------------------------------------------------

template <class T>
void Graph<T>::backward(Var<T> root) {
  const auto r = check(root, "backward");
  if (nodes_[r].shape != kScalarShape)
    fail("backward: root '{}' is {}, not 1x1; pass a root gradient of that shape", node_name(r),
         shape_of(nodes_[r]));
  const T one(1);
  backward_from(r, &one);
}

template <class T>
void Graph<T>::backward(Var<T> root, const Matrix<T>& root_grad) {
  const auto r = check(root, "backward");
  const Shape s{std::uint32_t(root_grad.rows()), std::uint32_t(root_grad.cols())};
  if (s != shape_of(nodes_[r]))
    fail("backward: root gradient is {} but root '{}' is {}", s, node_name(r), shape_of(nodes_[r]));
  if (const auto bad = non_finite<T>({root_grad.data(), root_grad.rows(), root_grad.cols()});
      !bad.empty())
    fail("backward: root gradient for root '{}' is not finite ({})", node_name(r), bad);
  backward_from(r, root_grad.data());
}

// The reverse sweep. Creation order is a topological order, so when the loop reaches node i every
// consumer of i (created later) has added its contribution: i's gradient is final, and chain(i)
// passes it on to i's inputs. Hooks, observers and anomaly checks (instrument) run only in a pass
// that has any of them; otherwise the loop is the algorithm alone.
template <class T>
void Graph<T>::backward_from(std::uint32_t root, const T* root_grad) {
  start_pass(root, root_grad);
  struct EndPass {  // however the pass ends, normally or by an Error
    Graph& g;
    ~EndPass() { g.end_pass(); }
  } end_pass_guard{*this};
  const bool instrumented = kHooksCompiledIn && (!hooks_.empty() || !observers_.empty() || anomaly_);
  std::uint32_t i = root + 1;
  try {
    for (auto& o : observers_)
      if (o.id) o.observer->on_backward_begin(*this);
    while (i-- > 0) {
      if (!take_reached(i)) continue;  // the root does not depend on node i
      if (instrumented)
        instrument(i);
      else
        chain(i);
    }
  } catch (...) {
    abort_pass(root, i);
    throw;
  }
  grads_from_ = 0;
  for (auto& o : observers_)
    if (o.id) o.observer->on_backward_end(*this);
}

template <class T>
void Graph<T>::start_pass(std::uint32_t root, const T* root_grad) {
  if (in_backward_)
    fail("backward: called during backward (from a hook or observer) for root '{}'; a pass "
         "cannot start inside another", node_name(root));
  Node& rn = nodes_[root];
  if (!(rn.flags & kRequiresGrad)) no_gradient_root(root);
  // Nodes after the root get zero gradients, the root its root gradient; the rest as the sweep
  // reaches them.
  grads_.resize(values_.size());
  if (root + 1 < nodes_.size())
    std::fill(grads_.data() + nodes_[root + 1].offset, grads_.data() + grads_.size(), T(0));
  std::copy(root_grad, root_grad + size_of(rn), grads_.data() + rn.offset);
  rn.flags |= kReached;
  grads_from_ = root + 1;
  grads_to_ = std::uint32_t(nodes_.size());
  ++backward_count_;
  // Hooks in reverse creation order, so instrument() walks them with a cursor as i falls.
  std::stable_sort(hooks_.begin(), hooks_.end(), [](auto& x, auto& y) { return x.node > y.node; });
  hook_cursor_ = 0;
  in_backward_ = true;
}

// Node i's step: its gradient, now final, flows to its inputs. The one dispatch on the op code per
// node, to code that knows the op's kernel.
template <class T>
inline __attribute__((always_inline)) void Graph<T>::chain(std::uint32_t i) {
  switch (nodes_[i].op) {
    case Op::Constant:
    case Op::Variable:
      break;
    case Op::Param:
      accumulate_param(i);
      break;
#define GRADSCOPE_CHAIN(Name, str) \
  case Op::Name:                   \
    backward_node<ops::Name>(i);   \
    break;
      GRADSCOPE_OPS(GRADSCOPE_CHAIN)
#undef GRADSCOPE_CHAIN
  }
}

// Forced inline into chain, and so into the loop: a call per node, with its register saves, cost
// as much as a scalar op's whole backward.
template <class T>
template <class K>
inline __attribute__((always_inline)) void Graph<T>::backward_node(std::uint32_t i) {
  constexpr bool binary = K::arity > 1;
  const Node& n = nodes_[i];
  Node& a = nodes_[n.in[0]];
  Node* b = binary ? &nodes_[n.in[1]] : nullptr;
  const bool need_a = a.flags & kRequiresGrad;
  const bool need_b = b && (b->flags & kRequiresGrad);
  if (need_a) start_grad(a);
  if (need_b) start_grad(*b);
  T* g = grads_.data();
  with_shape_class(all_scalar(n, a, b), [&](auto shape_class) __attribute__((always_inline)) {
    constexpr int N = decltype(shape_class)::value;
    // 1x1 operands need no lookup in the shape table.
    auto shape = [&](const Node& x) { return N == 1 ? Shape{1, 1} : shape_of(x); };
    const Shape sn = shape(n), sa = shape(a), sb = b ? shape(*b) : Shape{};
    const T attr = K::has_attr ? values_[n.offset + sn.size()] : T(0);
    ops::Backward<T, N> bw{map_of<N>(value_ptr(a), sa),
                           map_of<N>(b ? value_ptr(*b) : nullptr, sb),
                           map_of<N>(static_cast<const T*>(values_.data() + n.offset), sn),
                           map_of<N>(static_cast<const T*>(g + n.offset), sn),
                           map_of<N>(need_a ? g + a.offset : nullptr, sa),
                           map_of<N>(need_b ? g + b->offset : nullptr, sb),
                           attr};
    K::backward(bw);
  });
}

// A Param leaf's step: this pass's gradient adds into the Parameter's.
template <class T>
void Graph<T>::accumulate_param(std::uint32_t i) {
  const Node& n = nodes_[i];
  auto& g = params_[n.in[0]]->grad;
  const Shape s = shape_of(n);
  if (g.rows() != s.rows || g.cols() != s.cols)
    fail("backward: grad() of parameter '{}' is {}x{} but the parameter was recorded as {}",
         node_name(i), g.rows(), g.cols(), s);
  g += ConstMatrixMap<T>(grads_.data() + n.offset, s.rows, s.cols);
}

// Lazy zeroing of gradient slots. No pass over the arena zeroes them beforehand: a node's slot is
// zeroed when its first consumer's backward is about to add into it (start_grad, which marks the
// node reached) or, if no consumer reached it, when the sweep passes it (take_reached). The slot is
// then still in cache when it is first written, and the arena is swept once instead of twice. The
// sweep clears each mark as it passes, so no mark outlives a pass.
template <class T>
inline __attribute__((always_inline)) void Graph<T>::start_grad(Node& n) {
  if (n.flags & kReached) return;
  n.flags |= kReached;
  zero_grad(n);
}

template <class T>
inline __attribute__((always_inline)) bool Graph<T>::take_reached(std::uint32_t i) {
  Node& n = nodes_[i];
  if (!(n.flags & kReached)) {
    zero_grad(n);  // the root does not depend on it, or it needs no gradient
    return false;
  }
  n.flags &= ~kReached;
  return true;
}

template <class T>
inline __attribute__((always_inline)) void Graph<T>::zero_grad(const Node& n) {
  if (n.shape == kScalarShape)
    grads_[n.offset] = T(0);  // a store, not a call to memset
  else
    std::fill_n(grads_.data() + n.offset, size_of(n), T(0));
}

// --- instrumentation: everything a pass does besides the algorithm ---------------------------------

// Node i's step in a pass with hooks, observers or anomaly detection: node i's hooks may replace
// its gradient, observers see the result, chain(i) passes it on, and anomaly detection checks what
// chain(i) gave the inputs.
template <class T>
void Graph<T>::instrument(std::uint32_t i) {
  grads_from_ = i;  // what hooks and observers may read: node i and the nodes after it
  const Node& n = nodes_[i];
  const Shape s = shape_of(n);
  while (hook_cursor_ < hooks_.size() && hooks_[hook_cursor_].node > i) ++hook_cursor_;
  bool hooked = false;
  for (; hook_cursor_ < hooks_.size() && hooks_[hook_cursor_].node == i; ++hook_cursor_) {
    if (!hooks_[hook_cursor_].id) continue;  // removed earlier in this pass
    hooks_[hook_cursor_].fn(MatrixMap<T>(grads_.data() + n.offset, s.rows, s.cols));
    hooked = true;
  }
  // The root gradient is checked on entry and every backward's output after it ran, so only a hook
  // can have made this gradient non-finite.
  if (anomaly_ && hooked) check_hooked_gradient(i);
  for (auto& o : observers_)
    if (o.id) o.observer->on_node(NodeView<T>(*this, i));
  chain(i);
  if (anomaly_) check_backward(i);
}

template <class T>
void Graph<T>::abort_pass(std::uint32_t root, std::uint32_t i) {
  // Nodes up to the one the Error stopped at may carry reached marks the sweep did not clear, and
  // their gradients are partial sums or what an earlier pass left: none is this pass's gradient.
  for (std::uint32_t j = 0; j <= root; ++j) nodes_[j].flags &= ~kReached;
  grads_from_ = std::min(i, root) + 1;
  for (auto& o : observers_)
    if (o.id) o.observer->on_backward_abort(*this);
}

template <class T>
void Graph<T>::end_pass() {
  in_backward_ = false;
  hooks_.erase(std::remove_if(hooks_.begin(), hooks_.end(), [](auto& h) { return h.id == 0; }),
               hooks_.end());
  observers_.erase(std::remove_if(observers_.begin(), observers_.end(),
                                  [](auto& o) { return o.id == 0; }),
                   observers_.end());
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

// --- bookkeeping -----------------------------------------------------------------------------------

template <class T>
void Graph<T>::clear() {
  if (in_backward_)
    fail("clear: called during backward (from a hook or observer); clear after backward() "
         "returns");
  nodes_.clear();
  values_.resize(0);
  grads_.resize(0);
  params_.clear();
  locations_.clear();
  scope_runs_.clear();
  names_.clear();
  layers_.clear();
  hooks_.clear();
  grads_from_ = grads_to_ = 0;
  epoch_ = next_epoch();
}

template <class T>
std::uint32_t Graph<T>::child_scope(std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos)
    fail("scope: name '{}' must be non-empty and contain no '/'", name);
  const std::uint32_t name_id = intern(name);
  const std::uint64_t key = (std::uint64_t{current_scope_} << 32) | name_id;
  auto it = scope_ids_.find(key);
  if (it == scope_ids_.end()) {
    const std::string_view parent = scope_path(current_scope_);
    const std::string path = parent.empty() ? std::string(name) : fmt::format("{}/{}", parent, name);
    scopes_.push_back({intern(path)});
    it = scope_ids_.emplace(key, std::uint32_t(scopes_.size() - 1)).first;
  }
  return it->second;
}

template <class T>
typename Graph<T>::ScopeGuard Graph<T>::scope(std::string_view name) {
  const std::uint32_t previous = current_scope_;
  current_scope_ = child_scope(name);
  return ScopeGuard(*this, previous);
}

template <class T>
typename Graph<T>::ScopeGuard Graph<T>::layer(std::string_view name) {
  const std::uint32_t previous = current_scope_;
  current_scope_ = child_scope(name);
  layers_.push_back({current_scope_, std::uint32_t(nodes_.size())});
  return ScopeGuard(*this, previous);
}

template <class T>
const LayerRecord* Graph<T>::layer_of(std::uint32_t i) const {
  const std::uint32_t scope = scope_of(i);
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
    if (it->scope == scope && it->first <= i) return &*it;
  return nullptr;
}

template <class T>
void Graph<T>::mark(Var<T> v, LayerPart part) {
  static constexpr const char* kPart[] = {"weight", "pre-activation", "activation"};
  const std::uint32_t i = check(v, "mark");
  const LayerRecord* record = layer_of(i);
  if (!record) fail("mark: '{}' is not recorded inside a scope opened with layer()", node_name(i));
  std::uint32_t& slot = layers_[std::size_t(record - layers_.data())].part[int(part)];
  if (slot != kNoNode && slot != i)
    fail("mark: layer '{}' already has '{}' as its {}; cannot also mark '{}'",
         scope_path(record->scope), node_name(slot), kPart[int(part)], node_name(i));
  slot = i;
}

template <class T>
typename Graph<T>::NoGradGuard Graph<T>::no_grad() {
  const bool previous = grad_enabled_;
  grad_enabled_ = false;
  return NoGradGuard(*this, previous);
}

template <class T>
HookHandle Graph<T>::register_hook(Var<T> v, Hook hook) {
  const auto i = check(v, "register_hook");
  if (!kHooksCompiledIn) fail("register_hook: gradscope was built with GRADSCOPE_HOOKS=OFF");
  if (in_backward_)
    fail("register_hook: called during backward (from a hook or observer) for '{}'; register "
         "hooks before backward()", node_name(i));
  if (!hook) fail("register_hook: empty hook for '{}'", node_name(i));
  if (!(nodes_[i].flags & kRequiresGrad))
    fail("register_hook: '{}' needs no gradient (a constant, or recorded under no_grad), so the "
         "hook would never run", node_name(i));
  hooks_.push_back({next_hook_id_, i, std::move(hook)});
  return {next_hook_id_++};
}

template <class T>
HookHandle Graph<T>::add_observer(Observer<T>& observer) {
  if (!kHooksCompiledIn) fail("add_observer: gradscope was built with GRADSCOPE_HOOKS=OFF");
  if (in_backward_)
    fail("add_observer: called during backward (from a hook or observer); add observers before "
         "backward()");
  observers_.push_back({next_hook_id_, &observer});
  return {next_hook_id_++};
}

template <class T>
void Graph<T>::remove(HookHandle handle) {
  if (handle.id == 0) return;  // never issued
  // During backward the loops over hooks_ and observers_ are running, perhaps inside the very
  // function being removed: only mark it (id 0); end_pass() erases it.
  auto hit = std::find_if(hooks_.begin(), hooks_.end(), [&](auto& h) { return h.id == handle.id; });
  if (hit != hooks_.end()) {
    if (in_backward_)
      hit->id = 0;
    else
      hooks_.erase(hit);
    return;
  }
  auto oit = std::find_if(observers_.begin(), observers_.end(),
                          [&](auto& o) { return o.id == handle.id; });
  if (oit == observers_.end()) return;
  if (in_backward_)
    oit->id = 0;
  else
    observers_.erase(oit);
}

template class Graph<double>;
template class Graph<float>;
#define GRADSCOPE_INSTANTIATE_RECORD(Name, str)                                                    \
  template Var<double> Graph<double>::record<ops::Name, Op::Name>(                                 \
      std::initializer_list<Var<double>>, double, SourceLoc);                                      \
  template Var<float> Graph<float>::record<ops::Name, Op::Name>(std::initializer_list<Var<float>>, \
                                                                float, SourceLoc);
GRADSCOPE_OPS(GRADSCOPE_INSTANTIATE_RECORD)
#undef GRADSCOPE_INSTANTIATE_RECORD
template class NodeView<double>;
template class NodeView<float>;

}  // namespace gradscope
