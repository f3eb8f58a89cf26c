// The backward sweep: the reverse loop, each node's step, the lazy zeroing of gradient slots, and
// the instrumentation around it (hooks, observers, anomaly checks) with their registration.
#include <algorithm>

#include "gradscope/autodiff/graph.hpp"
#include "gradscope/autodiff/graph_internal.hpp"

namespace gradscope {

using detail::all_scalar;
using detail::map_of;
using detail::non_finite;

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
// passes it on to i's inputs. Hooks and observers (instrument) and anomaly checks (check_backward)
// run only in a pass that has any of them; otherwise the loop is the algorithm alone.
template <class T>
void Graph<T>::backward_from(std::uint32_t root, const T* root_grad) {
  start_pass(root, root_grad);
  struct EndPass {  // however the pass ends, normally or by an Error
    Graph& g;
    ~EndPass() { g.end_pass(); }
  } end_pass_guard{*this};
  const bool instrumented = kHooksCompiledIn && (has_hooks() || !observers_.empty() || anomaly_);
  std::uint32_t i = root + 1;
  try {
    for (auto& o : observers_)
      if (o.id) o.observer->on_backward_begin(*this);
    while (i-- > 0) {
      if (!take_reached(i)) continue;  // the root does not depend on node i
      if (instrumented) instrument(i);  // hooks and observers: node i's gradient is final
      chain(i);
      if (instrumented && anomaly_) check_backward(i);  // what chain(i) gave the inputs
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
  if (zeros_.size() < largest_shape_) zeros_.resize(largest_shape_);
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
  share_below_ = has_hooks() ? 0 : root + 1;
  in_backward_ = true;
}

// Node i's step: its gradient, now final, flows to its inputs. The one dispatch on the op code per
// node, to code that knows the op's kernel.
template <class T>
inline void Graph<T>::chain(std::uint32_t i) {
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

// Inline in chain, and so in the loop: a call per node, with its register saves, costs as much as
// a scalar op's whole backward. Only the all-scalar kernel is inlined; any other goes through one
// call (tensor_kernel), which its elementwise loops outweigh, and keeps the loop small enough for
// its registers to hold the scalar case.
template <class T>
template <class K>
inline void Graph<T>::backward_node(std::uint32_t i) {
  constexpr bool binary = K::arity > 1;
  const Node& n = nodes_[i];
  Node& a = nodes_[n.in[0]];
  Node& b = nodes_[n.in[binary ? 1 : 0]];  // a unary op's b is a again, and never read
  constexpr bool store = ops::stores_first<K>;
  Flow f;
  f.need_a = a.flags & kRequiresGrad;
  f.need_b = binary && (b.flags & kRequiresGrad);
  f.store_a = f.need_a && start_grad(a, store);
  f.store_b = f.need_b && start_grad(b, store && !ops::no_grad_b<K>);
  if (all_scalar(n, a, binary ? &b : nullptr)) {  // 1x1 nodes share no gradient
    T* g = grads_.data();
    run_kernel<K, 1>(n, a, b, f, g + n.offset, g + a.offset, g + b.offset);
  } else {
    tensor_kernel<K>(i, f);
  }
}

// An input that shares node i's gradient (shared_grads_) already has it: nothing to write.
template <class T>
template <class K>
void Graph<T>::tensor_kernel(std::uint32_t i, Flow f) {
  const Node& n = nodes_[i];
  const std::uint32_t ia = n.in[0], ib = n.in[K::arity > 1 ? 1 : 0];
  T* g = grads_.data();
  T* gn = g + grad_offset(i);
  T* ga = g + grad_offset(ia);
  T* gb = g + grad_offset(ib);
  if (ops::shares_grad<K>) {
    f.need_a = f.need_a && ga != gn;
    f.need_b = f.need_b && gb != gn;
  }
  run_kernel<K, Eigen::Dynamic>(n, nodes_[ia], nodes_[ib], f, gn, ga, gb);
}

template <class T>
template <class K, int N>
inline void Graph<T>::run_kernel(const Node& n, const Node& a, const Node& b, Flow f, T* gn,
                                 T* ga, T* gb) {
  constexpr bool binary = K::arity > 1;
  // 1x1 operands need no lookup in the shape table.
  auto shape = [&](const Node& x) { return N == 1 ? Shape{1, 1} : shape_of(x); };
  const Shape sn = shape(n), sa = shape(a), sb = binary ? shape(b) : Shape{};
  const T attr = K::has_attr ? values_[n.offset + sn.size()] : T(0);
  ops::Backward<T, N> bw{map_of<N>(value_ptr(a), sa),
                         map_of<N>(binary ? value_ptr(b) : nullptr, sb),
                         map_of<N>(static_cast<const T*>(values_.data() + n.offset), sn),
                         map_of<N>(static_cast<const T*>(gn), sn),
                         map_of<N>(f.need_a ? ga : nullptr, sa),
                         map_of<N>(f.need_b ? gb : nullptr, sb),
                         attr,
                         f.store_a,
                         f.store_b};
  K::backward(bw);
}

// A Param leaf's step: this pass's gradient adds into the Parameter's.
template <class T>
void Graph<T>::accumulate_param(std::uint32_t i) {
  const Node& n = nodes_[i];
  const auto& v = params_[n.in[0]]->value;
  auto& g = params_[n.in[0]]->grad;
  const Shape s = shape_of(n);
  if (v.rows() != s.rows || v.cols() != s.cols)  // e.g. a layer resized after it was recorded
    fail("backward: parameter '{}' was {} when recorded but is now {}x{}; record the graph again",
         node_name(i), s, v.rows(), v.cols());
  if (g.rows() != s.rows || g.cols() != s.cols)
    fail("backward: grad() of parameter '{}' is {}x{} but the parameter was recorded as {}",
         node_name(i), g.rows(), g.cols(), s);
  g += ConstMatrixMap<T>(grads_.data() + n.offset, s.rows, s.cols);
}

// Lazy zeroing of gradient slots. No pass over the arena zeroes them beforehand: a node's slot is
// zeroed when its first consumer's backward is about to add into it (start_grad, which marks the
// node reached) or, if no consumer reached it, when the sweep passes it (take_reached); never
// where the node needs no gradient (grad_slot shows zeros_ for it). The slot is then still in
// cache when it is first written, and the arena is swept once instead of twice. The sweep clears
// each mark as it passes, so no mark outlives a pass. A consumer whose kernel can store its
// contribution (store: ops::stores_first) is not given a zeroed slot when it is the first:
// start_grad returns true and the kernel stores (first-contribution stores, kernel.hpp). An input
// the op gives no gradient (ops::no_grad_b) is zeroed: its kernel does not write it.
template <class T>
inline bool Graph<T>::start_grad(Node& n, bool store) {
  if (n.flags & kReached) return false;
  n.flags |= kReached;
  if (!store) zero_grad(n);
  return store;
}

template <class T>
inline bool Graph<T>::take_reached(std::uint32_t i) {
  Node& n = nodes_[i];
  if (!(n.flags & kReached)) {
    if (n.flags & kRequiresGrad) zero_grad(n);  // the root does not depend on it
    return false;
  }
  n.flags &= ~kReached;
  return true;
}

template <class T>
inline void Graph<T>::zero_grad(const Node& n) {
  if (n.shape == kScalarShape)
    grads_[n.offset] = T(0);  // a store, not a call to memset
  else
    std::fill_n(grads_.data() + n.offset, size_of(n), T(0));
}

// --- instrumentation: everything a pass does besides the algorithm ---------------------------------

// Before node i's step in a pass with hooks, observers or anomaly detection: node i's hooks may
// replace its gradient, and observers see the result. Out of the loop, so that the loop keeps one
// copy of chain(i) whether the pass is instrumented or not.
template <class T>
void Graph<T>::instrument(std::uint32_t i) {
  grads_from_ = i;  // what hooks and observers may read: node i and the nodes after it
  const Node& n = nodes_[i];
  const Shape s = shape_of(n);
  while (hook_cursor_ < hooks_.size() && hooks_[hook_cursor_].node > i) ++hook_cursor_;
  bool hooked = false;
  if (n.op == Op::Param && !param_hooks_.empty()) {
    const std::uint64_t param = params_[n.in[0]]->id;
    for (auto& h : param_hooks_) {
      if (h.param != param || !h.id) continue;  // another parameter's, or removed in this pass
      h.fn(MatrixMap<T>(grads_.data() + n.offset, s.rows, s.cols));
      hooked = true;
    }
  }
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
  auto erase_removed = [](auto& list) {
    list.erase(std::remove_if(list.begin(), list.end(), [](auto& e) { return e.id == 0; }),
               list.end());
  };
  erase_removed(hooks_);
  erase_removed(param_hooks_);
  erase_removed(observers_);
}

// --- registering hooks and observers ----------------------------------------------------------------

template <class T>
void Graph<T>::check_new_hook(const Hook& hook, const std::string& what) const {
  if (!kHooksCompiledIn) fail("register_hook: gradscope was built with GRADSCOPE_HOOKS=OFF");
  if (in_backward_)
    fail("register_hook: called during backward (from a hook or observer) for {}; register "
         "hooks before backward()", what);
  if (!hook) fail("register_hook: empty hook for {}", what);
}

template <class T>
HookHandle Graph<T>::register_hook(Var<T> v, Hook hook) {
  const auto i = check(v, "register_hook");
  check_new_hook(hook, fmt::format("'{}'", node_name(i)));
  if (!(nodes_[i].flags & kRequiresGrad))
    fail("register_hook: '{}' needs no gradient (a constant, or recorded under no_grad), so the "
         "hook would never run", node_name(i));
  hooks_.push_back({next_hook_id_, i, std::move(hook)});
  return {next_hook_id_++};
}

template <class T>
HookHandle Graph<T>::register_hook(Parameter<T>& p, Hook hook) {
  const auto& s = p.storage("register_hook");
  check_new_hook(hook, fmt::format("parameter '{}'", s.name));
  param_hooks_.push_back({next_hook_id_, s.id, std::move(hook)});
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
  // During backward the loops over hooks and observers are running, perhaps inside the very
  // function being removed: only mark it (id 0); end_pass() erases it.
  auto take = [&](auto& list) {
    auto it = std::find_if(list.begin(), list.end(), [&](auto& e) { return e.id == handle.id; });
    if (it == list.end()) return false;
    if (in_backward_)
      it->id = 0;
    else
      list.erase(it);
    return true;
  };
  take(hooks_) || take(param_hooks_) || take(observers_);
}

// Defined here, so instantiated here: Graph<T> itself is instantiated in graph.cpp, and graph.hpp's
// extern template keeps this file from instantiating any member it does not name, the inline
// steps of the loop (chain, take_reached, start_grad, zero_grad) included.
#define GRADSCOPE_INSTANTIATE_BACKWARD(T)                                    \
  template void Graph<T>::chain(std::uint32_t);                              \
  template bool Graph<T>::take_reached(std::uint32_t);                       \
  template bool Graph<T>::start_grad(Node&, bool);                           \
  template void Graph<T>::zero_grad(const Node&);                            \
  template void Graph<T>::backward(Var<T>);                                  \
  template void Graph<T>::backward(Var<T>, const Matrix<T>&);                \
  template void Graph<T>::backward_from(std::uint32_t, const T*);            \
  template void Graph<T>::start_pass(std::uint32_t, const T*);               \
  template void Graph<T>::accumulate_param(std::uint32_t);                   \
  template void Graph<T>::instrument(std::uint32_t);                         \
  template void Graph<T>::abort_pass(std::uint32_t, std::uint32_t);          \
  template void Graph<T>::end_pass();                                        \
  template void Graph<T>::check_new_hook(const Hook&, const std::string&) const; \
  template HookHandle Graph<T>::register_hook(Var<T>, Hook);                 \
  template HookHandle Graph<T>::register_hook(Parameter<T>&, Hook);          \
  template HookHandle Graph<T>::add_observer(Observer<T>&);                  \
  template void Graph<T>::remove(HookHandle);
GRADSCOPE_INSTANTIATE_BACKWARD(double)
GRADSCOPE_INSTANTIATE_BACKWARD(float)
#undef GRADSCOPE_INSTANTIATE_BACKWARD

}  // namespace gradscope
