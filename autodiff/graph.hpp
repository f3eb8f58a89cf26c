#pragma once
// The recorded computation graph.
//
// A Graph<T> owns its nodes in a vector, in creation order. Creation order is a topological order,
// so backward() is a single reverse loop over that vector: no recursion, no per-node heap object.
// A node is 16 bytes (op code, input indices, arena offset, flags and an index into the graph's
// table of shapes); scopes and names sit in side tables. Values and gradients live in two
// graph-owned arenas at the same offset. clear() keeps capacity, so a
// training loop that records the same graph every iteration stops allocating after the first.
//
// Var<T> is the user's handle to a node: graph pointer, index and the graph's epoch at creation
// (24 bytes), so a handle kept past clear() or used with another graph is caught, not undefined
// behaviour. Parameter<T> (parameter.hpp) holds a value and an accumulated gradient outside any
// graph.
//
// Over 400 lines because it is one interface: Graph, and the handles (Var, NodeView) whose inline
// members need Graph's full definition, as Graph's need theirs.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "gradscope/autodiff/error.hpp"
#include "gradscope/autodiff/parameter.hpp"
#include "gradscope/autodiff/shape.hpp"
#include "gradscope/ops/op_table.hpp"

// GRADSCOPE_HOOKS=0 (CMake option GRADSCOPE_HOOKS=OFF) compiles the per-node instrumentation out of
// backward(): no hooks, no observers and no anomaly check of gradients (values are still checked
// while recording). It exists to measure what the instrumentation costs when nothing is registered.
#ifndef GRADSCOPE_HOOKS
#define GRADSCOPE_HOOKS 1
#endif

namespace gradscope {

inline constexpr bool kHooksCompiledIn = GRADSCOPE_HOOKS != 0;

// No node: an index that no graph holds.
inline constexpr std::uint32_t kNoNode = std::numeric_limits<std::uint32_t>::max();

// Where in the user's code a node was created. Every recording function takes one as its last,
// defaulted argument, so the caller's file and line arrive without macros; the graph keeps them
// only while anomaly detection is on.
struct SourceLoc {
  const char* file = nullptr;
  unsigned line = 0;
  static constexpr SourceLoc current(const char* file = __builtin_FILE(),
                                     unsigned line = __builtin_LINE()) {
    return {file, line};
  }
};

template <class T>
class Graph;

template <class T>
class Var {
 public:
  Var() = default;
  Graph<T>& graph() const {
    if (!graph_) fail("empty node handle (default-constructed Var)");
    return *graph_;
  }
  std::uint32_t index() const { return index_; }
  Shape shape() const;
  ConstMatrixMap<T> value() const;
  ConstMatrixMap<T> grad() const;
  T item() const;            // the value of a 1x1 node
  std::string name() const;  // scope/name
  Var named(std::string_view name) const;

 private:
  friend class Graph<T>;
  Var(Graph<T>* g, std::uint32_t index, std::uint64_t epoch) : graph_(g), index_(index), epoch_(epoch) {}
  Graph<T>* graph_ = nullptr;
  std::uint32_t index_ = 0;
  std::uint64_t epoch_ = 0;  // 64 bits: a process cannot count through them, so no stale handle passes
};

// Read-only view of one node, for observers, exporters and tests. Valid until the graph records
// another node or is cleared.
template <class T>
class NodeView {
 public:
  NodeView(const Graph<T>& g, std::uint32_t index) : g_(&g), i_(index) {}
  const Graph<T>& graph() const { return *g_; }
  std::uint32_t index() const { return i_; }
  Op op() const;
  std::string_view op_name() const { return op_info(op()).name; }
  Shape shape() const;
  std::string name() const;          // "scope/name", or "scope/op#index" for unnamed nodes
  void name_into(std::string& out) const;  // name() into out's storage: no allocation once it fits
  std::string_view local_name() const;  // the name given at creation, without scope; "" if none
  std::string_view scope() const;    // "" at top level, "block1/layer3" when nested
  std::uint32_t scope_id() const;
  bool requires_grad() const;
  int arity() const { return op_info(op()).arity; }
  std::uint32_t input(int k) const;  // index of input k < arity()
  ConstMatrixMap<T> value() const;
  // This backward's gradient (zeros where the root does not depend on the node); for a Param node
  // it is this pass's contribution, while Parameter::grad() accumulates across passes. An Error
  // where has_grad() is false.
  ConstMatrixMap<T> grad() const;
  // Whether the last backward computed the node's gradient: false for nodes recorded after it,
  // nodes a pass stopped by an Error did not reach, and, during a pass (from a hook or observer),
  // nodes created before the one being visited, whose gradients are not final yet.
  bool has_grad() const;
  T attr() const;                    // the op's constant (axis, exponent, slope, factor)
  SourceLoc location() const;        // recorded only while anomaly detection is on

 private:
  const Graph<T>* g_;
  std::uint32_t i_;
};

// Sees every node of a backward pass once its gradient is final (all consumers have added to it),
// in reverse creation order, after the node's own hooks ran.
template <class T>
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_backward_begin(const Graph<T>&) {}
  virtual void on_node(const NodeView<T>& node) = 0;
  virtual void on_backward_end(const Graph<T>&) {}
  // In place of on_backward_end when an Error (anomaly detection, a hook, a parameter's shape)
  // stops the pass before it reached every node; called before the Error propagates.
  virtual void on_backward_abort(const Graph<T>&) {}
};

struct HookHandle {
  std::uint32_t id = 0;
};

// A node's scope id and local name (Graph::labels_into).
struct NodeLabel {
  std::uint32_t scope;
  std::string_view local;
};

// A layer record: one unit of a network (a layer, a residual block, a time step) for the
// instruments to read. Graph::layer() opens a scope as a unit; Graph::mark() names which of its
// nodes are the unit's weight, pre-activation z and activation a = φ(z). Parts left unmarked
// (kNoNode) are found from the graph's structure by the instruments.
enum class LayerPart : std::uint8_t { Weight, PreActivation, Activation };
struct LayerRecord {
  std::uint32_t scope = 0;
  std::uint32_t first = 0;  // the first node recorded in it
  std::uint32_t part[3] = {kNoNode, kNoNode, kNoNode};  // by LayerPart
};

template <class T>
class Graph {
 public:
  // Sees a node's gradient when backward reaches it and may overwrite it in place; what it leaves
  // is what flows on to the node's inputs (PyTorch's Tensor.register_hook, returning a replacement).
  // It may read the gradients of its node and of nodes created after it (NodeView::has_grad).
  using Hook = std::function<void(MatrixMap<T> grad)>;

  Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // --- leaves -----------------------------------------------------------------------------------
  Var<T> constant(const Matrix<T>& value, std::string_view name = {},
                  SourceLoc loc = SourceLoc::current());
  Var<T> constant(T value, std::string_view name = {}, SourceLoc loc = SourceLoc::current());
  Var<T> variable(const Matrix<T>& value, std::string_view name = {},
                  SourceLoc loc = SourceLoc::current());
  Var<T> variable(T value, std::string_view name = {}, SourceLoc loc = SourceLoc::current());
  // A leaf holding a copy of p's value as it is now; backward adds the leaf's gradient into
  // p.grad().
  Var<T> param(Parameter<T>& p, SourceLoc loc = SourceLoc::current());

  // Records op applied to inputs (attr: the op's constant). The functions in functions.hpp and the
  // operators call this; it checks handles and shapes and throws Error naming op, nodes and shapes.
  Var<T> apply(Op op, std::initializer_list<Var<T>> inputs, T attr = T(0),
               SourceLoc loc = SourceLoc::current());

  // --- backward ---------------------------------------------------------------------------------
  // Gradient of root (1x1) with respect to every node it depends on, in one reverse sweep.
  void backward(Var<T> root);
  // The same from a root of any shape, starting from the root gradient d(objective)/d(root).
  void backward(Var<T> root, const Matrix<T>& root_grad);

  // Forgets all nodes (handles to them become invalid), keeping arena capacity, scopes, names,
  // observers and settings.
  void clear();

  // --- reading ----------------------------------------------------------------------------------
  std::size_t size() const { return nodes_.size(); }
  NodeView<T> node(std::uint32_t index) const;
  NodeView<T> node(Var<T> v) const { return NodeView<T>(*this, check(v, "node")); }
  bool has_gradients() const { return backward_count_ > 0; }
  std::uint64_t backward_count() const { return backward_count_; }
  // Bytes the recorded nodes occupy: node records, values, gradients and per-node side tables
  // (the vectors' used part; their capacity, kept by clear(), may be larger).
  std::size_t bytes() const;
  std::string_view scope_path(std::uint32_t scope_id) const { return strings_[scopes_[scope_id].path]; }
  std::size_t scope_count() const { return scopes_.size(); }
  // Every node's scope id and local name, as NodeView::scope_id() and local_name() give them, in
  // one walk over the side tables where each of those searches them: for passes that label every
  // node. out[i] is node i's; views into the graph's names, valid until the graph is destroyed.
  void labels_into(std::vector<NodeLabel>& out) const;

  // --- scopes and recording mode ----------------------------------------------------------------
  class ScopeGuard {
   public:
    ScopeGuard(const ScopeGuard&) = delete;
    ScopeGuard& operator=(const ScopeGuard&) = delete;
    ~ScopeGuard() { g_.current_scope_ = previous_; }

   private:
    friend class Graph;
    ScopeGuard(Graph& g, std::uint32_t previous) : g_(g), previous_(previous) {}
    Graph& g_;
    std::uint32_t previous_;
  };
  // Names every node created while the guard lives "name/…"; scopes nest ("block1/layer3").
  [[nodiscard]] ScopeGuard scope(std::string_view name);

  class NoGradGuard {
   public:
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;
    ~NoGradGuard() { g_.grad_enabled_ = previous_; }

   private:
    friend class Graph;
    NoGradGuard(Graph& g, bool previous) : g_(g), previous_(previous) {}
    Graph& g_;
    bool previous_;
  };
  // While the guard lives, new nodes record no gradient path (inference, metrics).
  [[nodiscard]] NoGradGuard no_grad();

  // --- layer records ----------------------------------------------------------------------------
  // A scope (as scope()) that is also a new unit of the network: each call opens a unit, so a
  // recurrent cell opened under one name at every time step gives one unit per step. Records are
  // dropped by clear(), like the nodes.
  [[nodiscard]] ScopeGuard layer(std::string_view name);
  // Names v the given part of the unit v was recorded in (the last one opened in v's scope before
  // v). An Error if v was not recorded inside a layer(), or the part already names another node.
  void mark(Var<T> v, LayerPart part);
  // The unit node i was recorded in, or nullptr.
  const LayerRecord* layer_of(std::uint32_t i) const;
  const std::vector<LayerRecord>& layer_records() const { return layers_; }

  // --- hooks and observers ----------------------------------------------------------------------
  // Hooks on one node run in registration order, each seeing what the previous one left. A hook
  // on a node that needs no gradient (constant, recorded under no_grad) is an Error: it would never run.
  // Hooks and observers may remove any hook or observer, themselves included, while backward runs:
  // what is removed is not called again, and is erased when the pass ends. Registering during
  // backward is an Error (the pass's order of hooks is fixed when it starts).
  HookHandle register_hook(Var<T> v, Hook hook);  // dropped by clear() with the node
  // A hook on a Parameter, kept across clear(): it runs on the Param node of every pass that
  // recorded p in this graph (each node, where p was recorded more than once), before the node's
  // own hooks, until removed. Keyed on p's identity, not its address: if p is destroyed the hook
  // never runs again (remove() it to free what it captured).
  HookHandle register_hook(Parameter<T>& p, Hook hook);
  HookHandle add_observer(Observer<T>& observer);  // kept across clear(); must outlive the graph or be removed
  void remove(HookHandle handle);                  // unknown or already removed handles are ignored
  bool has_hooks() const { return !hooks_.empty() || !param_hooks_.empty(); }

  // Anomaly detection: the first non-finite value (forward), or gradient (backward: the node whose
  // backward produced it, or a hook), throws an Error naming the node, its op, shape, input ranges
  // and the file and line that created it. Lines are recorded only for nodes created while it is
  // on. After such an Error the pass's gradients are incomplete: nodes the pass did not reach have
  // none (NodeView::has_grad), and only the parameters it reached have accumulated.
  void set_anomaly_detection(bool on) { anomaly_ = on; }
  bool anomaly_detection() const { return anomaly_; }

 private:
  friend class Var<T>;
  friend class NodeView<T>;

  enum Flags : std::uint8_t { kRequiresGrad = 1, kReached = 2, kSharesGrad = 4 };
  // 16 bytes: with a scalar's value and gradient, 32 bytes per scalar op. The shape is an index
  // into shapes_ (0 is 1x1), and scope and name live in side tables (scope_runs_, names_), since
  // scopes change in runs and most nodes are unnamed.
  struct Node {
    std::uint32_t in[2];   // input node indices; for Param leaves in[0] indexes params_
    std::uint32_t offset;  // of value and gradient in their arenas; the attribute follows the value
    Op op;
    std::uint8_t flags;
    std::uint16_t shape;   // into shapes_
  };
  static_assert(sizeof(Node) == 16, "a node record is 16 bytes");
  static constexpr std::uint16_t kScalarShape = 0;
  // Nodes from first (inclusive) up to the next run's first are in scope.
  struct ScopeRun {
    std::uint32_t first, scope;
  };
  struct NodeName {
    std::uint32_t node, name;  // name into strings_
  };
  struct ScopeInfo {
    std::uint32_t path;  // into strings_
  };
  struct NodeHook {
    std::uint32_t id, node;  // id 0: removed during backward, erased when it ends
    Hook fn;
  };
  struct ParamHook {
    std::uint32_t id;    // 0: removed during backward, erased when it ends
    std::uint64_t param; // Parameter::Storage::id
    Hook fn;
  };
  struct ObserverEntry {
    std::uint32_t id;  // 0: removed during backward, erased when it ends
    Observer<T>* observer;
  };

  // A handle of this graph, recorded since the last clear(): then also index_ < size(), since
  // nodes are only ever removed all at once, by clear(), which starts a new epoch. Epochs come
  // from one process-wide 64-bit counter, so a handle into a destroyed graph is not taken for one
  // into another graph that happens to sit at the same address, and the counter never wraps.
  std::uint32_t check(const Var<T>& v, std::string_view what) const {
    if (v.graph_ != this || v.epoch_ != epoch_) bad_handle(v, what);
    return v.index_;
  }
  [[noreturn, gnu::cold, gnu::noinline]] void bad_handle(const Var<T>& v,
                                                         std::string_view what) const;
  // The Error for operands whose shapes (or attribute) op does not accept.
  [[noreturn, gnu::cold, gnu::noinline]] void bad_operands(Op op, std::uint32_t in0,
                                                           std::uint32_t in1, T attr) const;
  // The Error for a backward root that needs no gradient, saying why (constants only, no_grad).
  [[noreturn, gnu::cold, gnu::noinline]] void no_gradient_root(std::uint32_t root) const;
  std::uint32_t intern(std::string_view s);
  std::uint32_t child_scope(std::string_view name);  // the scope `name` inside the current one
  std::uint16_t intern_shape(Shape s, Op op);
  Shape shape_of(const Node& n) const { return shapes_[n.shape]; }
  std::size_t size_of(const Node& n) const { return shapes_[n.shape].size(); }
  // Side-table lookups, O(log n) binary searches: only observers, exporters and errors ask.
  std::uint32_t scope_of(std::uint32_t i) const;
  std::uint32_t name_of(std::uint32_t i) const;  // 0 = unnamed
  void set_name(std::uint32_t i, std::uint32_t name);
  std::string node_name(std::uint32_t i) const;
  void node_name_into(std::uint32_t i, std::string& out) const;
  Var<T> leaf(Op op, Shape shape, const T* data, std::uint32_t extra, std::string_view name,
              bool requires_grad, SourceLoc loc);
  // A node of shape shapes_[shape], which holds size elements.
  __attribute__((always_inline)) std::uint32_t push_node(Op op, std::uint16_t shape,
                                                         std::size_t size, std::uint32_t in0,
                                                         std::uint32_t in1, bool requires_grad,
                                                         bool with_attr, SourceLoc loc);
  const T* value_ptr(const Node& n) const { return values_.data() + n.offset; }
  // apply() and backward dispatch on the op code once, to these, which know the op's kernel
  // struct K (ops/kernel.hpp) at compile time. apply() is inline, so that where the op is a
  // constant (functions.hpp) the call goes straight to record<K, op>. record returns the new
  // node's index, in a register, and apply() builds the Var around it: a 24-byte Var returned
  // from the out-of-line call comes back through memory, field by field, and a caller copying it
  // whole with a wider load cannot have it forwarded from those stores, and stalls.
  template <class K, Op op>
  std::uint32_t record(std::initializer_list<Var<T>> inputs, T attr, SourceLoc loc);
  // The Error for operands whose values op does not accept (K::reject found r).
  [[noreturn, gnu::cold, gnu::noinline]] void bad_values(Op op, std::uint32_t in0,
                                                         std::uint32_t in1, ops::Rejection r,
                                                         SourceLoc loc) const;
  // The Error for reading node i's gradient where has_grad() is false.
  [[noreturn, gnu::cold, gnu::noinline]] void no_gradient(std::uint32_t i) const;
  // Node i's gradient slot, final or not: for the anomaly checks within a pass. A node that needs
  // no gradient shows zeros_ instead: backward never writes its slot.
  ConstMatrixMap<T> grad_slot(std::uint32_t i) const {
    const Node& n = nodes_[i];
    const Shape s = shape_of(n);
    return {n.flags & kRequiresGrad ? grads_.data() + grad_offset(i) : zeros_.data(), s.rows,
            s.cols};
  }
  // Where node i's gradient is in grads_: at its own offset, or, where it shares its consumer's
  // gradient in this pass (shared_grads_), where the consumer's is.
  std::uint32_t grad_offset(std::uint32_t i) const {
    while (nodes_[i].flags & kSharesGrad) {
      const auto it = std::lower_bound(shared_grads_.begin(), shared_grads_.end(), i);
      if (it->consumer >= share_below_) break;
      i = it->consumer;
    }
    return nodes_[i].offset;
  }
  // Recording: node i is a sum (ops::shares_grad) that the operands of its shape may share their
  // gradient with; an operand that shared its gradient gets another consumer (in0 or in1).
  void share_grads(std::uint32_t i);
  void stop_sharing(std::uint32_t in0, std::uint32_t in1);

  // The backward pass (backward.cpp): backward_from runs the reverse loop, chain(i) node i's step.
  // The loop's steps are forced inline into it, and GCC takes always_inline for a class
  // template's member only from its declaration here, not from its definition. Declared inline
  // too: graph.cpp instantiates the class without seeing their definitions (backward.cpp).
  void backward_from(std::uint32_t root, const T* root_grad);
  void start_pass(std::uint32_t root, const T* root_grad);
  __attribute__((always_inline)) inline void chain(std::uint32_t i);
  template <class K>
  __attribute__((always_inline)) void backward_node(std::uint32_t i);
  // Which of a node's inputs take a gradient, and which take it stored rather than added (their
  // slot's first contribution, see start_grad).
  struct Flow {
    bool need_a, need_b, store_a, store_b;
  };
  // Node n's kernel for operands of shape class N (ops/kernel.hpp); tensor_kernel, out of line,
  // for any node that is not all-scalar.
  template <class K, int N>
  __attribute__((always_inline)) void run_kernel(const Node& n, const Node& a, const Node& b,
                                                 Flow f, T* gn, T* ga, T* gb);
  template <class K>
  __attribute__((noinline)) void tensor_kernel(std::uint32_t i, Flow f);
  void accumulate_param(std::uint32_t i);
  void instrument(std::uint32_t i);  // node i's hooks and observers, before chain(i)
  // An Error stopped the pass at node i (root + 1: before the loop).
  void abort_pass(std::uint32_t root, std::uint32_t i);
  void end_pass();  // however the pass ended: erases hooks and observers removed during it
  // Lazy zeroing of gradient slots, see backward.cpp.
  __attribute__((always_inline)) inline bool start_grad(Node& n, bool store);
  __attribute__((always_inline)) inline bool take_reached(std::uint32_t i);
  __attribute__((always_inline)) inline void zero_grad(const Node& n);
  // The checks register_hook(Var) and register_hook(Parameter&) share; what names the target.
  void check_new_hook(const Hook& hook, const std::string& what) const;
  // Anomaly checks: node i's value; the gradients node i's backward gave its inputs; node i's
  // gradient as its hooks left it.
  void check_value(std::uint32_t i) const;
  void check_backward(std::uint32_t i) const;
  void check_hooked_gradient(std::uint32_t i) const;
  std::string describe(std::uint32_t i) const;  // "'name' (op RxC, created at file:line)"

  std::vector<Node> nodes_;
  // A growable array whose new elements are left uninitialised: the kernels overwrite values
  // anyway, and backward zeroes each gradient slot that needs one as it reaches its node. Growing
  // within capacity is a compare and a store, inline, which recording a scalar op does every time;
  // clear() keeps the capacity. It grows by realloc, which moves a large block by remapping its
  // pages instead of copying them, and leaves the capacity beyond what is written untouched.
  class Arena {
   public:
    Arena() = default;
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;
    ~Arena() { std::free(p_); }
    T* data() { return p_; }
    const T* data() const { return p_; }
    std::size_t size() const { return size_; }
    T& operator[](std::size_t i) { return p_[i]; }
    const T& operator[](std::size_t i) const { return p_[i]; }
    void resize(std::size_t n) {
      if (n > capacity_) reallocate(std::max(n, 2 * capacity_));
      size_ = n;
    }

   private:
    static_assert(std::is_trivially_copyable_v<T>, "realloc moves the elements as bytes");
    void reallocate(std::size_t capacity) {
      void* p = std::realloc(p_, capacity * sizeof(T));
      if (!p) throw std::bad_alloc();
      p_ = static_cast<T*>(p);
      capacity_ = capacity;
    }
    T* p_ = nullptr;
    std::size_t size_ = 0, capacity_ = 0;
  };
  Arena values_, grads_;
  // The gradient of every node that needs none (constants, nodes recorded under no_grad), shared:
  // from the pass on, as many zeros as the largest shape recorded holds (largest_shape_, updated
  // when a shape is first interned, so recording a node does no work for it).
  std::vector<T> zeros_;
  std::vector<typename Parameter<T>::Storage*> params_;
  std::vector<SourceLoc> locations_;
  std::vector<ScopeRun> scope_runs_;  // one entry per change of scope, in node order
  std::vector<NodeName> names_;       // named nodes only, sorted by node
  std::vector<LayerRecord> layers_;   // in the order they were opened
  std::uint64_t epoch_;
  std::uint64_t backward_count_ = 0;
  // Nodes grads_from_ <= i < grads_to_ have gradients from the last backward (NodeView::has_grad):
  // during a pass those it has passed, after it all it reached, or above the node an Error
  // stopped it at.
  std::uint32_t grads_from_ = 0, grads_to_ = 0;

  // Interned strings (node names, scope paths); kept across clear() so steady state allocates none.
  std::deque<std::string> strings_;
  std::unordered_map<std::string_view, std::uint32_t> string_ids_;
  // Gradient sharing. A node whose one consumer is a sum of the node's shape (an op with
  // ops::shares_grad: the product under a bias add) has the sum's gradient as its own: backward
  // leaves it in the sum's slot, and the node's own step reads it from there, instead of copying
  // it. Such a node is flagged kSharesGrad and has a (node, consumer) entry here, sorted by node;
  // recording another consumer of it ends the sharing. A pass shares with consumers below
  // share_below_ only: start_pass sets it past the root, or to 0 where a hook is registered, which
  // may change a node's gradient in place and must change that node's alone.
  struct SharedGrad {
    std::uint32_t node, consumer;
    friend bool operator<(const SharedGrad& s, std::uint32_t node) { return s.node < node; }
  };
  std::vector<SharedGrad> shared_grads_;
  std::uint32_t share_below_ = 0;
  // What intern() returned since clear(), in order, and how far this recording has come: the
  // strings the next recording of the same model asks for (intern).
  std::vector<std::uint32_t> replay_;
  std::size_t replay_at_ = 0;
  std::vector<ScopeInfo> scopes_;
  std::unordered_map<std::uint64_t, std::uint32_t> scope_ids_;  // (parent, name) -> scope
  // Every shape the graph has recorded, kept across clear() like strings_: Node::shape is 16
  // bits, so one graph holds at most 65536 distinct shapes (recording another is an Error).
  std::vector<Shape> shapes_;
  std::unordered_map<std::uint64_t, std::uint16_t> shape_ids_;  // (rows, cols) -> index
  std::size_t largest_shape_ = 1;  // elements of the largest shape in shapes_
  std::uint32_t current_scope_ = 0;
  bool grad_enabled_ = true;

  std::vector<NodeHook> hooks_;
  std::size_t hook_cursor_ = 0;
  std::vector<ParamHook> param_hooks_;  // kept across clear()
  std::vector<ObserverEntry> observers_;
  std::uint32_t next_hook_id_ = 1;
  bool in_backward_ = false;
  bool anomaly_ = false;
};


template <class T>
inline Var<T> Graph<T>::apply(Op op, std::initializer_list<Var<T>> inputs, T attr, SourceLoc loc) {
  switch (op) {
#define GRADSCOPE_RECORD(Name, str) \
  case Op::Name:                    \
    return Var<T>(this, record<ops::Name, Op::Name>(inputs, attr, loc), epoch_);
    GRADSCOPE_OPS(GRADSCOPE_RECORD)
#undef GRADSCOPE_RECORD
    default:
      fail("apply: {} is a leaf, not an op; use Graph::constant, variable or param",
           op_info(op).name);
  }
}

// --- Var and NodeView, inline -----------------------------------------------------------------

template <class T>
Shape Var<T>::shape() const {
  return graph().node(*this).shape();
}
template <class T>
ConstMatrixMap<T> Var<T>::value() const {
  return graph().node(*this).value();
}
template <class T>
ConstMatrixMap<T> Var<T>::grad() const {
  return graph().node(*this).grad();
}
template <class T>
std::string Var<T>::name() const {
  return graph().node(*this).name();
}
template <class T>
T Var<T>::item() const {
  auto n = graph().node(*this);
  if (!n.shape().scalar()) fail("item(): node '{}' is {}, not 1x1", n.name(), n.shape());
  return n.value()(0, 0);
}
template <class T>
Var<T> Var<T>::named(std::string_view name) const {
  auto& g = graph();
  g.set_name(g.check(*this, "named"), g.intern(name));
  return *this;
}

template <class T>
inline Op NodeView<T>::op() const {
  return g_->nodes_[i_].op;
}
template <class T>
inline Shape NodeView<T>::shape() const {
  return g_->shape_of(g_->nodes_[i_]);
}
template <class T>
std::string NodeView<T>::name() const {
  return g_->node_name(i_);
}
template <class T>
void NodeView<T>::name_into(std::string& out) const {
  g_->node_name_into(i_, out);
}
template <class T>
inline std::string_view NodeView<T>::local_name() const {
  return g_->strings_[g_->name_of(i_)];
}
template <class T>
inline std::string_view NodeView<T>::scope() const {
  return g_->scope_path(g_->scope_of(i_));
}
template <class T>
inline std::uint32_t NodeView<T>::scope_id() const {
  return g_->scope_of(i_);
}
template <class T>
inline bool NodeView<T>::requires_grad() const {
  return g_->nodes_[i_].flags & Graph<T>::kRequiresGrad;
}
template <class T>
inline std::uint32_t NodeView<T>::input(int k) const {
  return g_->nodes_[i_].in[k];
}
template <class T>
inline ConstMatrixMap<T> NodeView<T>::value() const {
  const auto& n = g_->nodes_[i_];
  const Shape s = g_->shape_of(n);
  return {g_->value_ptr(n), s.rows, s.cols};
}
template <class T>
inline bool NodeView<T>::has_grad() const {
  return i_ >= g_->grads_from_ && i_ < g_->grads_to_;
}
template <class T>
inline T NodeView<T>::attr() const {
  const auto& n = g_->nodes_[i_];
  return op_info(n.op).has_attr ? g_->values_[n.offset + g_->size_of(n)] : T(0);
}
template <class T>
inline SourceLoc NodeView<T>::location() const {
  return i_ < g_->locations_.size() ? g_->locations_[i_] : SourceLoc{};
}

extern template class Graph<double>;
extern template class Graph<float>;
extern template class NodeView<double>;
extern template class NodeView<float>;

}  // namespace gradscope
