#include "gradscope/writers/graphviz.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <tuple>

#include "gradscope/instruments/grad_stats.hpp"
#include "gradscope/instruments/graph_queries.hpp"
#include "gradscope/writers/atomic_file.hpp"
#include "gradscope/writers/output_set.hpp"

extern char** environ;

namespace gradscope {

namespace {

// ColorBrewer RdBu (11 classes), a diverging scale designed for ordered perceptual steps:
// index 5 is the neutral centre, 0 the deepest blue (vanishing), 10 the deepest red (exploding).
constexpr const char* kPalette[11] = {"#053061", "#2166ac", "#4393c3", "#92c5de",
                                      "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582",
                                      "#d6604d", "#b2182b", "#67001f"};
constexpr int kMaxStep = 5;
constexpr double kPow10[kMaxStep] = {1, 10, 100, 1000, 10000};
constexpr const char* kNoGradFill = "#e0e0e0";     // constants: no gradient exists
constexpr const char* kZeroFill = "#ffffff";       // a gradient exists but is exactly 0
constexpr const char* kNonFiniteFill = "#ffff00";  // NaN or Inf: hazard yellow, off the scale
constexpr const char* kBorder = "#404040";

// The magnitude a GradNorm gives to a gradient's statistics: NaN or Inf when any entry is.
double magnitude(const GradSums& s, GradNorm norm) {
  if (s.nan) return std::numeric_limits<double>::quiet_NaN();
  if (s.inf) return std::numeric_limits<double>::infinity();
  switch (norm) {
    case GradNorm::L2:
      return s.l2;
    case GradNorm::Max:
      return s.max_abs;
    case GradNorm::Mean:
      return s.mean_abs;
  }
  return 0.0;
}

const char* norm_name(GradNorm norm) {
  switch (norm) {
    case GradNorm::L2:
      return "l2";
    case GradNorm::Max:
      return "max";
    case GradNorm::Mean:
      return "mean";
  }
  return "";
}

const char* rankdir_name(RankDir r) {
  switch (r) {
    case RankDir::TB:
      return "TB";
    case RankDir::LR:
      return "LR";
    case RankDir::BT:
      return "BT";
    case RankDir::RL:
      return "RL";
  }
  return "TB";
}

// Colour step of a finite, non-zero magnitude: 0 inside [healthy_low, healthy_high), -k for k
// decades below (vanishing), +k for k decades above (exploding), saturating at ±5. The boundaries
// are healthy_low / 10^k and healthy_high · 10^k, exactly as the legend prints them.
int decade_step(double m, const DotOptions& o) {
  int s = 0;
  while (s < kMaxStep && m < o.healthy_low / kPow10[s]) ++s;
  if (s) return -s;
  while (s < kMaxStep && m >= o.healthy_high * kPow10[s]) ++s;
  return s;
}

const char* step_fill(int step) { return kPalette[step + kMaxStep]; }
const char* step_font(int step) { return std::abs(step) >= 4 ? "#ffffff" : "#000000"; }

// Graphviz reads backslash escapes in labels (\n, \l, \N); user text must keep its backslashes.
std::string escape_label(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// A DOT quoted string.
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

// An attribute value: bare when DOT reads it as an identifier or a number and it is no keyword
// (shape=box, penwidth=1.50), quoted otherwise.
std::string dot_value(std::string_view s) {
  const auto alpha = [](char c) { return std::isalpha((unsigned char)c) || c == '_'; };
  const auto digit = [](char c) { return std::isdigit((unsigned char)c) != 0; };
  bool bare = false;
  if (!s.empty() && alpha(s[0])) {
    bare = std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || digit(c); });
    std::string lower(s);
    for (char& c : lower) c = char(std::tolower((unsigned char)c));
    for (const char* keyword : {"node", "edge", "graph", "digraph", "subgraph", "strict"})
      if (lower == keyword) bare = false;
  } else {
    std::string_view n = s.substr(!s.empty() && s[0] == '-');
    const auto point = n.find('.');
    const std::string_view whole = n.substr(0, point),
                           frac = point == n.npos ? std::string_view() : n.substr(point + 1);
    bare = (!whole.empty() || !frac.empty()) && std::all_of(whole.begin(), whole.end(), digit) &&
           std::all_of(frac.begin(), frac.end(), digit);
  }
  return bare ? std::string(s) : quote(s);
}

// " [name=value, ...]" of the attributes given, in that order.
std::string attributes(const std::vector<std::pair<const char*, const std::string*>>& list) {
  std::string out = " [";
  for (const auto& [name, value] : list)
    out += fmt::format("{}{}={}", out.size() > 2 ? ", " : "", name, dot_value(*value));
  return out + "]";
}

std::string number(double x) { return fmt::format("{:.3g}", x); }

// A band boundary: powers of ten as 1e-3, 1e2 (how gradients are read), others as numbers.
std::string bound(double x) {
  const double k = std::round(std::log10(x));
  return std::pow(10.0, k) == x ? fmt::format("1e{}", k) : number(x);
}

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

void write_legend(std::ostream& out, const DotOptions& o, bool gradients) {
  struct Entry {
    std::string label, shape, style, fill, font;
  };
  std::vector<Entry> entries;
  if (gradients) {
    for (int s = kMaxStep; s >= -kMaxStep; --s) {
      std::string range;
      if (s == kMaxStep)
        range = fmt::format(">= {}  exploding", bound(o.healthy_high * kPow10[kMaxStep - 1]));
      else if (s == -kMaxStep)
        range = fmt::format("< {}  vanishing", bound(o.healthy_low / kPow10[kMaxStep - 1]));
      else if (s > 0)
        range = fmt::format("[{}, {})", bound(o.healthy_high * kPow10[s - 1]),
                            bound(o.healthy_high * kPow10[s]));
      else if (s < 0)
        range = fmt::format("[{}, {})", bound(o.healthy_low / kPow10[-s]),
                            bound(o.healthy_low / kPow10[-s - 1]));
      else
        range = fmt::format("[{}, {})  healthy", bound(o.healthy_low), bound(o.healthy_high));
      entries.push_back({range, "box", "filled", step_fill(s), step_font(s)});
    }
    entries.push_back({"0: no gradient arrived", "box", "filled,dashed", kZeroFill, "#000000"});
    entries.push_back({"NaN or Inf", "box", "filled,bold", kNonFiniteFill, "#000000"});
    entries.push_back({"constant: no gradient", "box", "filled", kNoGradFill, "#000000"});
  }
  entries.push_back({"parameter", "box3d", "filled", "#ffffff", "#000000"});
  entries.push_back({"input", "invhouse", "filled", "#ffffff", "#000000"});
  entries.push_back({"op", "box", "filled,rounded", "#ffffff", "#000000"});
  entries.push_back({"output", "doubleoctagon", "filled", "#ffffff", "#000000"});
  if (o.collapse)
    entries.push_back({"scope (collapsed)", "folder", "filled", "#ffffff", "#000000"});

  out << "subgraph cluster_legend {\n  label="
      << quote(gradients
                   ? fmt::format("legend: gradient magnitude ({} norm), one colour per decade",
                                 norm_name(o.norm))
                   : std::string("legend"))
      << "; style=\"rounded\"; color=\"#9e9e9e\"; fontcolor=\"#616161\";\n";
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const Entry& e = entries[k];
    out << "  legend_" << k << " [label=" << quote(e.label) << ", shape=" << e.shape
        << ", style=" << quote(e.style) << ", fillcolor=" << quote(e.fill)
        << ", fontcolor=" << quote(e.font) << ", color=" << quote(kBorder) << "];\n";
  }
  // Invisible edges stack the entries in one column (one row with rankdir LR).
  for (std::size_t k = 1; k < entries.size(); ++k)
    out << "  legend_" << k - 1 << " -> legend_" << k << " [style=invis];\n";
  out << "}\n";
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

std::string render_dot_text(const std::string& dot_text, const std::string& format,
                            const std::string& what) {
  if (format != "svg" && format != "png" && format != "pdf")
    fail("{}: unknown format '{}' (use .svg, .png or .pdf)", what, format);
  const auto dot = find_program("dot");
  if (!dot) fail("{}: Graphviz 'dot' is not on PATH; install graphviz", what);
  const std::string image = "graph." + format;  // fixed names: no path reaches dot's arguments
  return run_renderer({*dot, "-T" + format, "graph.dot", "-o", image}, {{"graph.dot", dot_text}},
                      image, what);
}

std::vector<std::string> rendered_beside(const std::string& dot_path) {
  const std::string stem = std::filesystem::path(dot_path).replace_extension().string();
  return {stem + ".svg", stem + ".png"};
}

void render_dot(const std::string& dot_path, const std::string& out_path) {
  const std::string what = fmt::format("cannot render '{}'", printable_path(out_path));
  const std::string ext = std::filesystem::path(out_path).extension().string();
  std::ifstream in(dot_path, std::ios::binary);
  if (!std::filesystem::is_regular_file(dot_path) || !in)
    fail("{}: DOT file '{}' does not exist", what, printable_path(dot_path));
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  OutputSet out;
  out.add_input("DOT file", dot_path);
  out.add_output("cannot render", out_path);
  out.set(out_path, render_dot_text(text, ext.empty() ? "" : ext.substr(1), what));
  out.commit();
}

template <class T>
DotExport export_dot(const Graph<T>& g, const std::string& dot_path, const DotOptions& options) {
  DotExport result{{dot_path}, {}};
  OutputSet out;
  out.add_output("cannot write", dot_path);
  const std::string text = to_dot(g, options);
  out.set(dot_path, text);
  if (!find_program("dot")) {
    result.note = fmt::format("Graphviz 'dot' not found on PATH; render with: dot -Tsvg {} -o {}",
                              dot_path, rendered_beside(dot_path)[0]);
  } else {
    for (const auto& image : rendered_beside(dot_path)) {
      out.add_output("cannot write", image);
      out.set(image, render_dot_text(text, image.substr(image.size() - 3),
                                     fmt::format("cannot render '{}'", printable_path(image))));
      result.files.push_back(image);
    }
  }
  out.commit();
  return result;
}

#define GRADSCOPE_INSTANTIATE(T)                                                   \
  template double grad_magnitude<T>(ConstMatrixMap<T>, GradNorm);                  \
  template std::string to_dot(const Graph<T>&, const DotOptions&);                 \
  template void write_dot(const Graph<T>&, const std::string&, const DotOptions&); \
  template DotExport export_dot(const Graph<T>&, const std::string&, const DotOptions&);
GRADSCOPE_INSTANTIATE(double)
GRADSCOPE_INSTANTIATE(float)
#undef GRADSCOPE_INSTANTIATE

}  // namespace gradscope
