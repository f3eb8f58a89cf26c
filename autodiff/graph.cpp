// Graph's recording side: the side tables (shapes, names, scopes, layers), recording leaves and
// ops, the gradient sharing decided while recording, and clear(). The backward sweep is in
// backward.cpp, the errors and anomaly checks in graph_errors.cpp. A little over 400 lines, kept
// whole: recording is what fills the tables, and each part reads the others'.
#include "gradscope/autodiff/graph.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <type_traits>

#include "gradscope/autodiff/graph_internal.hpp"

namespace gradscope {

using detail::map_of;
using detail::with_shape_class;

namespace {

// Ops whose inputs have a domain their shapes do not express (bce: probabilities, cross_entropy:
// class labels) define K::reject(a, b), which returns what is wrong with the input values.
template <class K, class = void>
struct HasReject : std::false_type {};
template <class K>
struct HasReject<K, std::void_t<decltype(&K::template reject<double, Eigen::Dynamic>)>>
    : std::true_type {};

}  // namespace

template <class T>
Graph<T>::Graph() : epoch_(detail::next_id()) {
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
  largest_shape_ = std::max(largest_shape_, s.size());
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
void Graph<T>::labels_into(std::vector<NodeLabel>& out) const {
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
  // Nodes are named as they are recorded, so the common case appends.
  if (name && (names_.empty() || names_.back().node < i)) {
    names_.push_back({i, name});
    return;
  }
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
  // A model recorded again after clear() interns the same strings in the same order, so the string
  // interned at this position last time is compared first: cheaper than hashing.
  if (replay_at_ < replay_.size() && strings_[replay_[replay_at_]] == s)
    return replay_[replay_at_++];
  auto it = string_ids_.find(s);
  if (it == string_ids_.end()) {
    strings_.emplace_back(s);  // deque: earlier strings (and the views keyed on them) never move
    it = string_ids_.emplace(strings_.back(), std::uint32_t(strings_.size() - 1)).first;
  }
  if (replay_at_ < replay_.size())
    replay_[replay_at_] = it->second;
  else
    replay_.push_back(it->second);
  ++replay_at_;
  return it->second;
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

// --- recording -------------------------------------------------------------------------------------

// push_node is forced inline into record: recording a scalar op takes 105-128 instructions, and a
// call would add its argument passing and register saves to every one.
template <class T>
inline std::uint32_t Graph<T>::push_node(
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
  // The value as recorded, which backward differentiates at even if the Parameter changes before.
  return leaf(Op::Param, p.shape(), s.value.data(), std::uint32_t(params_.size() - 1), p.name(),
              true, loc);
}

template <class T>
template <class K, Op op>
std::uint32_t Graph<T>::record(std::initializer_list<Var<T>> inputs, T attr, SourceLoc loc) {
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
  const std::uint8_t in_flags = nodes_[in0].flags | (binary ? nodes_[in1].flags : 0);
  const bool requires_grad = in_flags & kRequiresGrad;
  std::uint32_t i = 0;
  // Scalar operands (shape index 0) are the scalar tape's every op: with their shapes known at
  // compile time, the shape rule, the output's size and the kernel's shape class fold away.
  with_shape_class((shape0 | shape1) == kScalarShape, [&](auto operand_class) {
    constexpr bool scalar = decltype(operand_class)::value == 1;
    const Shape s0 = scalar ? Shape{1, 1} : shapes_[shape0];
    const Shape s1 = scalar ? Shape{1, 1} : binary ? shapes_[shape1] : Shape{};
    const Shape out = K::shape(s0, s1, double(attr));
    if (out.size() == 0) bad_operands(op, in0, in1, attr);
    // Most ops keep an operand's shape: reuse its index instead of looking the shape up.
    const std::uint16_t out_id = out == s0 ? shape0 : out == s1 ? shape1 : intern_shape(out, op);
    if constexpr (HasReject<K>::value) {
      using Map = ops::Value<T, Eigen::Dynamic>;
      const Map a(value_ptr(nodes_[in0]), s0.rows, s0.cols);
      const Map b(binary ? value_ptr(nodes_[in1]) : nullptr, s1.rows, s1.cols);
      if (const ops::Rejection r = K::reject(a, b); r.why) bad_values(op, in0, in1, r, loc);
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
    if constexpr (!scalar) {  // 1x1 nodes share no gradient
      if (in_flags & kSharesGrad) stop_sharing(in0, binary ? in1 : in0);
      if constexpr (ops::shares_grad<K>) share_grads(i);
    }
  });
  if (anomaly_) check_value(i);
  return i;
}

// Node i's operands of its shape share its gradient where they need one, are not leaves (a Param's
// gradient goes to its Parameter) and have no other consumer: none yet among the few nodes recorded
// between them and i (further back, an operand keeps its own slot), and not the other operand.
template <class T>
void Graph<T>::share_grads(std::uint32_t i) {
  constexpr std::uint32_t kLookBack = 8;
  const Node& n = nodes_[i];
  if (n.in[0] == n.in[1]) return;
  for (const std::uint32_t x : n.in) {
    Node& in = nodes_[x];
    if (in.shape != n.shape || !(in.flags & kRequiresGrad) || is_leaf(in.op) || i - x > kLookBack)
      continue;
    bool consumed = false;
    for (std::uint32_t j = x + 1; j < i; ++j) {
      const Node& c = nodes_[j];
      consumed = consumed || (!is_leaf(c.op) && (c.in[0] == x || c.in[1] == x));
    }
    if (consumed) continue;
    in.flags |= kSharesGrad;
    shared_grads_.insert(std::lower_bound(shared_grads_.begin(), shared_grads_.end(), x), {x, i});
  }
}

template <class T>
void Graph<T>::stop_sharing(std::uint32_t in0, std::uint32_t in1) {
  for (const std::uint32_t x : {in0, in1}) {
    if (!(nodes_[x].flags & kSharesGrad)) continue;
    nodes_[x].flags &= ~kSharesGrad;
    shared_grads_.erase(std::lower_bound(shared_grads_.begin(), shared_grads_.end(), x));
  }
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
  shared_grads_.clear();
  share_below_ = 0;
  replay_at_ = 0;
  grads_from_ = grads_to_ = 0;
  epoch_ = detail::next_id();
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

template class Graph<double>;
template class Graph<float>;
#define GRADSCOPE_INSTANTIATE_RECORD(Name, str)                                                    \
  template std::uint32_t Graph<double>::record<ops::Name, Op::Name>(                               \
      std::initializer_list<Var<double>>, double, SourceLoc);                                      \
  template std::uint32_t Graph<float>::record<ops::Name, Op::Name>(                                \
      std::initializer_list<Var<float>>, float, SourceLoc);
GRADSCOPE_OPS(GRADSCOPE_INSTANTIATE_RECORD)
#undef GRADSCOPE_INSTANTIATE_RECORD
template class NodeView<double>;
template class NodeView<float>;

}  // namespace gradscope
