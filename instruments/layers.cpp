#include "gradscope/instruments/layers.hpp"

#include <algorithm>
#include <iterator>

namespace gradscope {

namespace {

bool is_leaf_param(Op op) { return op == Op::Param || op == Op::Variable; }

// Structural questions find() asks, over the scope and consumer tables it filled.
template <class T>
struct Structure {
  const Graph<T>& g;
  const std::vector<LayerFinder::NodeKey>& key;
  const std::vector<std::uint32_t>& consumers;
  const std::vector<std::uint32_t>& last_consumer;

  NodeView<T> node(std::uint32_t i) const { return NodeView<T>(g, i); }
  // The only consumer of i, in i's scope, or kNoNode.
  std::uint32_t sole_consumer(std::uint32_t i) const {
    const std::uint32_t c = consumers[i] == 1 ? last_consumer[i] : kNoNode;
    return c != kNoNode && key[c].scope == key[i].scope ? c : kNoNode;
  }
  // The parameter or variable leaf behind x (x itself, or the input of a transpose), or kNoNode.
  std::uint32_t leaf_behind(std::uint32_t x) const {
    const NodeView<T> v = node(x);
    if (is_leaf_param(v.op())) return x;
    if (v.op() == Op::Transpose && is_leaf_param(node(v.input(0)).op())) return v.input(0);
    return kNoNode;
  }
  // The weight-side input of product p (see layers.hpp).
  int weight_side(std::uint32_t p) const {
    const NodeView<T> v = node(p);
    const std::uint32_t l0 = leaf_behind(v.input(0)), l1 = leaf_behind(v.input(1));
    if (l0 != kNoNode && l1 != kNoNode)  // x W with x a variable and W a parameter
      return node(l1).op() == Op::Param && node(l0).op() != Op::Param ? 1 : 0;
    return l1 != kNoNode ? 1 : 0;
  }
  // Fills u's z, a, w, param and b from its product, keeping the parts already marked.
  void complete(LayerNodes& u) const {
    if (u.product != kNoNode) {
      const NodeView<T> p = node(u.product);
      if (u.w == kNoNode) u.w = p.input(weight_side(u.product));
      // Through the bias additions to z (up to the marked z, where there is one).
      std::uint32_t z = u.product;
      for (std::uint32_t c = sole_consumer(z); c != kNoNode && z != u.z; c = sole_consumer(z)) {
        const NodeView<T> cv = node(c);
        if ((cv.op() != Op::Add && cv.op() != Op::Sub) || cv.shape() != p.shape()) break;
        const std::uint32_t other = cv.input(0) == z ? cv.input(1) : cv.input(0);
        if (u.b == kNoNode && is_leaf_param(node(other).op())) u.b = other;
        z = c;
      }
      if (u.z == kNoNode) u.z = z;
      u.affine = u.z == z;
    }
    if (u.w != kNoNode) u.param = leaf_behind(u.w);
    if (u.a == kNoNode && u.z != kNoNode) {
      const std::uint32_t c = sole_consumer(u.z);
      u.a = c != kNoNode && op_info(node(c).op()).activation ? c : u.z;
    }
  }
};

}  // namespace

template <class T>
bool LayerFinder::same_structure(const Graph<T>& g) {
  const auto n = std::uint32_t(g.size());
  const auto& records = g.layer_records();
  bool same = found_ && key_.size() == n && records_.size() == records.size() &&
              scope_count_ == g.scope_count();
  for (std::size_t k = 0; same && k < records.size(); ++k)
    same = records_[k].scope == records[k].scope && records_[k].first == records[k].first &&
           std::equal(std::begin(records[k].part), std::end(records[k].part),
                      std::begin(records_[k].part));
  key_.resize(n);
  g.labels_into(labels_);
  for (std::uint32_t i = 0; i < n; ++i) {
    const NodeView<T> v(g, i);
    const Shape shape = v.shape();
    const NodeKey k{std::uint32_t(v.op()) << 1 | std::uint32_t(v.requires_grad()),
                    v.arity() > 0 ? v.input(0) : kNoNode, v.arity() > 1 ? v.input(1) : kNoNode,
                    shape.rows, shape.cols, labels_[i].scope};
    same = same && key_[i] == k;
    key_[i] = k;
  }
  records_.assign(records.begin(), records.end());
  scope_count_ = g.scope_count();
  return same;
}

template <class T>
bool LayerFinder::find(const Graph<T>& g) {
  if (same_structure(g)) return false;
  found_ = false;
  search(g);
  found_ = true;
  return true;
}

template <class T>
void LayerFinder::search(const Graph<T>& g) {
  const auto n = std::uint32_t(g.size());
  consumers_.assign(n, 0);
  last_consumer_.assign(n, kNoNode);
  for (std::uint32_t i = 0; i < n; ++i) {
    const NodeKey& k = key_[i];
    for (const std::uint32_t in : {k.in0, k.in1}) {
      if (in == kNoNode) continue;
      ++consumers_[in];
      last_consumer_[in] = i;
    }
  }
  const Structure<T> s{g, key_, consumers_, last_consumer_};
  std::vector<LayerNodes>& out = units_;

  // Units: the layer records, or else every scope but the top level that holds a product.
  out.clear();
  const auto& records = g.layer_records();
  unit_of_.assign(g.scope_count(), kNoNode);  // without records: the unit of each scope
  auto add_unit = [&](std::uint32_t scope) {
    out.push_back({scope});
    if (products_.size() < out.size()) products_.emplace_back();
    products_[out.size() - 1].clear();
  };
  for (const LayerRecord& r : records) {
    add_unit(r.scope);
    out.back().w = r.part[int(LayerPart::Weight)];
    out.back().z = r.part[int(LayerPart::PreActivation)];
    out.back().a = r.part[int(LayerPart::Activation)];
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    const NodeView<T> v(g, i);
    if (v.op() != Op::Matmul || !v.requires_grad()) continue;
    std::uint32_t unit = kNoNode;
    if (!records.empty()) {
      if (const LayerRecord* r = g.layer_of(i)) unit = std::uint32_t(r - records.data());
    } else if (const std::uint32_t scope = key_[i].scope; scope != 0) {
      if (unit_of_[scope] == kNoNode) {
        unit_of_[scope] = std::uint32_t(out.size());
        add_unit(scope);
      }
      unit = unit_of_[scope];
    }
    if (unit != kNoNode) products_[unit].push_back(i);
  }
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (!products_[k].empty()) out[k].product = products_[k].front();
    s.complete(out[k]);
  }
  // In the order of their z; units without one are dropped.
  order_.clear();
  for (std::uint32_t k = 0; k < out.size(); ++k)
    if (out[k].z != kNoNode) order_.push_back(k);
  std::sort(order_.begin(), order_.end(),
            [&](std::uint32_t x, std::uint32_t y) { return out[x].z < out[y].z; });
  // A unit with several products (a recurrent step: W_x x + W_h h) takes the one fed by the
  // previous unit's output: its weight carries the gradient from unit to unit.
  for (std::size_t k = 1; k < order_.size(); ++k) {
    LayerNodes& u = out[order_[k]];
    const auto& list = products_[order_[k]];
    if (list.size() < 2) continue;
    for (std::uint32_t p : list) {
      const NodeView<T> v(g, p);
      const int side = s.weight_side(p);
      if (v.input(1 - side) != out[order_[k - 1]].a) continue;
      u.product = p;
      u.w = v.input(side);
      u.param = s.leaf_behind(u.w);
      break;
    }
  }
  sorted_.clear();
  for (std::uint32_t k : order_) sorted_.push_back(out[k]);
  out.swap(sorted_);
  if (!out.empty())
    note_.clear();
  else
    note_ = records.empty()
             ? "no layers: looked for layer records (Graph::layer) and for scopes holding a matrix "
               "product (matmul) that needs a gradient; found neither"
             : "no layers: the layer records hold no matrix product (matmul) and no marked "
               "pre-activation";
}

std::size_t LayerFinder::memory_bytes() const {
  std::size_t b = key_.capacity() * sizeof(NodeKey) + labels_.capacity() * sizeof(NodeLabel) +
                  records_.capacity() * sizeof(LayerRecord) +
                  (units_.capacity() + sorted_.capacity()) * sizeof(LayerNodes) + note_.capacity() +
                  (consumers_.capacity() + last_consumer_.capacity() + unit_of_.capacity() +
                   order_.capacity()) * sizeof(std::uint32_t) +
                  products_.capacity() * sizeof(products_[0]);
  for (const auto& p : products_) b += p.capacity() * sizeof(std::uint32_t);
  return b;
}

template bool LayerFinder::find<double>(const Graph<double>&);
template bool LayerFinder::find<float>(const Graph<float>&);

}  // namespace gradscope
