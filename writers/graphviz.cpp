#include "gradscope/writers/graphviz.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <tuple>

#include "gradscope/instruments/grad_stats.hpp"
#include "gradscope/instruments/graph_queries.hpp"
#include "gradscope/writers/atomic_file.hpp"
#include "gradscope/writers/dot_style.hpp"

// The DOT text of a graph: what is drawn and how it is annotated. The DOT syntax, colour scale and
// legend are in writers/dot_style.cpp; rendering with Graphviz's dot in writers/dot_render.cpp.
namespace gradscope {

using namespace dot;

namespace {

template <class T>
std::string value_summary(ConstMatrixMap<T> v) {
  if (!v.allFinite()) {
    GradSums s;
    s.add(v);
    return fmt::format("value NaN x{}, Inf x{}", s.nan, s.inf);
  }
  if (v.size() == 1) return "value " + number(double(v(0, 0)));
  // The mean in double: a float sum of values near FLT_MAX overflows to inf.
  return fmt::format("mean {} min {} max {}", number(v.template cast<double>().mean()),
                     number(double(v.minCoeff())), number(double(v.maxCoeff())));
}

std::string grad_line(const GradSums& s, GradNorm norm, std::optional<double> scalar) {
  if (!s.finite()) return fmt::format("grad NaN x{}, Inf x{}", s.nan, s.inf);
  if (scalar) return "grad " + number(*scalar);
  const double m = magnitude(s, norm);
  return m == 0 ? std::string("grad 0") : fmt::format("grad {} {}", norm_name(norm), number(m));
}

// --- what is drawn: one vertex per group, one edge per pair of groups (and operand) ------------

struct DotVertex {
  // Graphviz attributes
  std::string id, label, tooltip, shape, style, fillcolor, fontcolor, color, penwidth, peripheries;
  // annotations for programs (boost::read_graphviz); Graphviz ignores them
  std::string name, op, dims, value, grad;
};
struct DotEdge {
  std::string style, label, penwidth, grad;
};

// One drawn node: a recorded node, or in collapse mode all nodes of one scope.
struct Group {
  std::string id, name;
  std::uint32_t scope_id = 0;  // the cluster it is drawn in (its parent scope when collapsed)
  std::uint32_t first = 0;     // first member node
  bool collapsed = false;
  std::size_t members = 0, params = 0;
  GradSums grad;
  bool any_grad = false;  // some member has a gradient from the last backward
};

struct EdgeAcc {
  GradSums flow;
  bool carries_grad = false;
};

// The gradient that consumer's backward sends to its operand k: the op's kernel run with only
// that operand's gradient buffer, on the consumer's final gradient.
template <class T>
GradSums edge_flow(const Graph<T>& g, const NodeView<T>& c, int k) {
  const NodeView<T> a = g.node(c.input(0));
  const bool binary = c.arity() > 1;
  const Shape sa = a.shape();
  const Shape sb = binary ? g.node(c.input(1)).shape() : Shape{};
  const Shape sk = k == 0 ? sa : sb;
  Matrix<T> flow = Matrix<T>::Zero(sk.rows, sk.cols);
  ops::Backward<T> bw{a.value(),
                      binary ? g.node(c.input(1)).value() : ConstMatrixMap<T>(nullptr, 0, 0),
                      c.value(),
                      c.grad(),
                      MatrixMap<T>(k == 0 ? flow.data() : nullptr, sa.rows, sa.cols),
                      MatrixMap<T>(k == 1 ? flow.data() : nullptr, sb.rows, sb.cols),
                      c.attr()};
  ops::backward(c.op(), bw);
  GradSums s;
  s.add(flow);
  return s;
}

struct ScopeTree {
  std::map<std::uint32_t, std::vector<std::string>> members;  // scope id -> drawn node ids
  std::map<std::uint32_t, std::vector<std::uint32_t>> children;
  std::vector<std::uint32_t> parent;  // per scope id
  std::vector<bool> used;             // scope or a descendant holds a drawn node
};

template <class T>
ScopeTree scope_tree(const Graph<T>& g) {
  ScopeTree t;
  std::map<std::string_view, std::uint32_t> by_path;
  for (std::uint32_t s = 0; s < g.scope_count(); ++s) by_path[g.scope_path(s)] = s;
  t.parent.assign(g.scope_count(), 0);
  t.used.assign(g.scope_count(), false);
  for (std::uint32_t s = 1; s < g.scope_count(); ++s) {
    const std::string_view path = g.scope_path(s);
    const auto slash = path.rfind('/');
    t.parent[s] = slash == std::string_view::npos ? 0 : by_path.at(path.substr(0, slash));
    t.children[t.parent[s]].push_back(s);
  }
  return t;
}

template <class T>
void write_cluster(std::ostream& out, const Graph<T>& g, const ScopeTree& t, std::uint32_t s,
                   int indent) {
  const std::string pad(std::size_t(indent) * 2, ' ');
  out << pad << "subgraph cluster_" << s << " {\n"
      << pad << "  label=" << quote(escape_label(g.scope_path(s)))
      << "; style=\"rounded\"; color=\"#9e9e9e\"; fontcolor=\"#616161\";\n";
  if (auto it = t.members.find(s); it != t.members.end())
    for (const auto& id : it->second) out << pad << "  " << id << ";\n";
  if (auto it = t.children.find(s); it != t.children.end())
    for (std::uint32_t c : it->second)
      if (t.used[c]) write_cluster(out, g, t, c, indent + 1);
  out << pad << "}\n";
}


void check_options(const DotOptions& o) {
  if (!(o.healthy_low > 0) || !(o.healthy_high > o.healthy_low) || !std::isfinite(o.healthy_high))
    fail("DOT export: healthy band [{}, {}) must satisfy 0 < healthy_low < healthy_high < inf",
         o.healthy_low, o.healthy_high);
}

}  // namespace

template <class T>
double grad_magnitude(ConstMatrixMap<T> grad, GradNorm norm) {
  GradSums s;
  s.add(grad);
  return magnitude(s, norm);
}

template <class T>
std::string to_dot(const Graph<T>& g, const DotOptions& o) {
  check_options(o);
  const std::uint32_t n = std::uint32_t(g.size());
  const std::vector<bool> keep =
      o.reaching ? gradscope::reaching(g, *o.reaching) : std::vector<bool>(n, true);
  const bool gradients = o.gradients && g.has_gradients();

  // Node -> drawn group, groups numbered in order of their first member (deterministic).
  std::vector<Group> groups;
  std::vector<std::uint32_t> group_of(n, 0);
  std::map<std::uint32_t, std::uint32_t> scope_group;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    const NodeView<T> v = g.node(i);
    const bool collapsed = o.collapse && !v.scope().empty();
    if (collapsed) {
      auto [it, fresh] = scope_group.emplace(v.scope_id(), std::uint32_t(groups.size()));
      if (fresh) {
        Group grp;
        grp.id = fmt::format("s{}", v.scope_id());
        grp.name = std::string(v.scope());
        grp.scope_id = v.scope_id();
        grp.first = i;
        grp.collapsed = true;
        groups.push_back(std::move(grp));
      }
      group_of[i] = it->second;
    } else {
      Group grp;
      grp.id = fmt::format("n{}", i);
      grp.name = v.name();
      grp.scope_id = v.scope_id();
      grp.first = i;
      group_of[i] = std::uint32_t(groups.size());
      groups.push_back(std::move(grp));
    }
    Group& grp = groups[group_of[i]];
    ++grp.members;
    if (v.op() == Op::Param) ++grp.params;
    if (gradients && v.requires_grad() && v.has_grad()) {
      grp.grad.add(v.grad());
      grp.any_grad = true;
    }
  }

  // Edges between drawn groups, in data-flow direction; one per operand, merged per pair of groups
  // when collapsing. Ordered by (source, target, operand) for stable output.
  std::map<std::tuple<std::uint32_t, std::uint32_t, int>, EdgeAcc> edges;
  std::vector<bool> consumed(groups.size(), false);
  for (std::uint32_t dst = 0; dst < n; ++dst)
    for (int operand = 0; operand < g.node(dst).arity(); ++operand) {
      const std::uint32_t src = g.node(dst).input(operand);
      if (!keep[src] || !keep[dst] || group_of[src] == group_of[dst]) continue;
      EdgeAcc& acc = edges[{group_of[src], group_of[dst], o.collapse ? -1 : operand}];
      consumed[group_of[src]] = true;
      const NodeView<T> consumer = g.node(dst), input = g.node(src);
      if (gradients && input.requires_grad() && consumer.requires_grad() && consumer.has_grad()) {
        acc.carries_grad = true;
        if (o.edge_gradients) acc.flow.merge(edge_flow(g, consumer, operand));
      }
    }

  std::vector<DotVertex> vertices(groups.size());
  for (std::size_t k = 0; k < groups.size(); ++k) {
    const Group& grp = groups[k];
    DotVertex& d = vertices[k];
    const NodeView<T> v = g.node(grp.first);
    d.id = grp.id;
    d.name = escape_label(grp.name);  // a trailing '\\' would escape the closing quote
    d.color = kBorder;
    d.penwidth = "1";
    d.peripheries = "1";
    d.fontcolor = "#000000";
    std::string label = escape_label(grp.name);
    bool value_finite = true;
    std::optional<double> scalar_grad;
    if (grp.collapsed) {
      d.op = "scope";
      d.shape = "folder";
      d.style = "filled";
      d.tooltip = escape_label(
          fmt::format("scope {}: {} nodes, {} parameters", grp.name, grp.members, grp.params));
      label += fmt::format("\\n{} nodes, {} params", grp.members, grp.params);
    } else {
      d.op = std::string(v.op_name());
      d.dims = fmt::format("{}", v.shape());
      d.value = value_summary<T>(v.value());
      value_finite = v.value().allFinite();
      const bool leaf = is_leaf(v.op());
      d.shape = v.op() == Op::Param ? "box3d"
                : leaf              ? "invhouse"
                : consumed[k]       ? "box"
                                    : "doubleoctagon";
      d.style = d.shape == "box" ? "filled,rounded" : "filled";
      std::string args;
      for (int j = 0; j < v.arity(); ++j) args += (j ? ", " : "") + g.node(v.input(j)).name();
      d.tooltip = escape_label(leaf ? fmt::format("{} {} {}", d.op, grp.name, d.dims)
                                    : fmt::format("{} = {}({}) {}", grp.name, d.op, args, d.dims));
      label += fmt::format("\\n{} {}", d.op, d.dims);
      if (o.values) label += "\\n" + escape_label(d.value);
      if (grp.any_grad && v.shape().scalar()) scalar_grad = double(v.grad()(0, 0));
    }
    std::string fill = "#ffffff";
    if (gradients) {
      if (!grp.any_grad) {
        label += "\\nno gradient";
        fill = kNoGradFill;
      } else {
        label += "\\n" + grad_line(grp.grad, o.norm, scalar_grad);
        const double m = magnitude(grp.grad, o.norm);
        d.grad = fmt::format("{:.17g}", m);
        if (!grp.grad.finite()) {
          fill = kNonFiniteFill;
        } else if (m == 0) {
          fill = kZeroFill;
          d.style += ",dashed";
        } else {
          const int step = decade_step(m, o);
          fill = step_fill(step);
          d.fontcolor = step_font(step);
        }
      }
    }
    if (!value_finite || (gradients && grp.any_grad && !grp.grad.finite())) {
      fill = kNonFiniteFill;
      d.fontcolor = "#000000";
      d.style += ",bold";
      d.penwidth = "3";
      d.peripheries = "2";
    }
    d.fillcolor = fill;
    d.label = std::move(label);
  }

  double max_flow = 0;
  for (const auto& [key, acc] : edges)
    if (acc.carries_grad && acc.flow.finite())
      max_flow = std::max(max_flow, magnitude(acc.flow, o.norm));
  std::vector<DotEdge> edge_attrs;  // in the order of edges
  for (const auto& [key, acc] : edges) {
    DotEdge& d = edge_attrs.emplace_back();
    d.style = gradients && !acc.carries_grad ? "dashed" : "solid";
    d.penwidth = "1";
    if (o.edge_gradients && acc.carries_grad) {
      const double m = magnitude(acc.flow, o.norm);
      d.grad = fmt::format("{:.17g}", m);
      d.label = acc.flow.finite() ? number(m)
                                  : fmt::format("NaN x{}, Inf x{}", acc.flow.nan, acc.flow.inf);
      // Widest (4) for the largest flow, half a point thinner per decade below it, at least 0.5.
      const double w = !acc.flow.finite() ? 4.0
                       : m > 0 && max_flow > 0
                           ? std::clamp(4.0 + 0.5 * std::log10(m / max_flow), 0.5, 4.0)
                           : 0.5;
      d.penwidth = fmt::format("{:.2f}", w);
    }
  }

  // Scopes as clusters: nested as the scope paths nest; a collapsed scope sits in its parent's.
  ScopeTree tree = scope_tree(g);
  for (const Group& grp : groups) {
    const std::uint32_t s = grp.collapsed ? tree.parent[grp.scope_id] : grp.scope_id;
    if (s == 0) continue;
    tree.members[s].push_back(grp.id);
    for (std::uint32_t u = s; u != 0 && !tree.used[u]; u = tree.parent[u]) tree.used[u] = true;
  }

  std::ostringstream out;
  out << "digraph G {\n";
  if (!o.title.empty()) out << "label=" << dot_value(escape_label(o.title)) << ";\nlabelloc=t;\n";
  out << "rankdir=" << rankdir_name(o.rankdir) << ";\n"
      << "fontname=\"Helvetica\";\n"
      << "node [fontname=\"Helvetica\", fontsize=10];\n"
      << "edge [fontname=\"Helvetica\", fontsize=9, color=\"" << kBorder << "\"];\n";
  // Mentioning a node inside a cluster before its declaration puts it in that cluster.
  if (auto it = tree.children.find(0); it != tree.children.end())
    for (std::uint32_t s : it->second)
      if (tree.used[s]) write_cluster(out, g, tree, s, 0);
  if (o.legend) write_legend(out, o, gradients);
  // Attributes in alphabetical order; value and grad only when there are values and gradients.
  for (const DotVertex& d : vertices) {
    std::vector<std::pair<const char*, const std::string*>> a = {{"color", &d.color},
                                                                 {"dims", &d.dims},
                                                                 {"fillcolor", &d.fillcolor},
                                                                 {"fontcolor", &d.fontcolor}};
    if (gradients) a.push_back({"grad", &d.grad});
    a.insert(a.end(), {{"label", &d.label},
                       {"name", &d.name},
                       {"op", &d.op},
                       {"penwidth", &d.penwidth},
                       {"peripheries", &d.peripheries},
                       {"shape", &d.shape},
                       {"style", &d.style},
                       {"tooltip", &d.tooltip}});
    if (o.values) a.push_back({"value", &d.value});
    out << d.id << attributes(a) << ";\n";
  }
  std::size_t k = 0;
  for (const auto& [key, acc] : edges) {
    const DotEdge& d = edge_attrs[k++];
    std::vector<std::pair<const char*, const std::string*>> a;
    if (o.edge_gradients && gradients)
      a = {{"grad", &d.grad}, {"label", &d.label}, {"penwidth", &d.penwidth}};
    a.push_back({"style", &d.style});
    out << vertices[std::get<0>(key)].id << "->" << vertices[std::get<1>(key)].id << " "
        << attributes(a) << ";\n";
  }
  out << "}\n";
  return out.str();
}

template <class T>
void write_dot(const Graph<T>& g, const std::string& path, const DotOptions& options) {
  write_file_atomically(path, to_dot(g, options));
}

#define GRADSCOPE_INSTANTIATE(T)                                                   \
  template double grad_magnitude<T>(ConstMatrixMap<T>, GradNorm);                  \
  template std::string to_dot(const Graph<T>&, const DotOptions&);                 \
  template void write_dot(const Graph<T>&, const std::string&, const DotOptions&);
GRADSCOPE_INSTANTIATE(double)
GRADSCOPE_INSTANTIATE(float)
#undef GRADSCOPE_INSTANTIATE

}  // namespace gradscope
