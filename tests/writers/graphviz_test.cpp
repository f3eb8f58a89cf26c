// The Graphviz writer: what the DOT says of each node and edge, read back with boost::read_graphviz.
// The DOT as text and files (the golden file, escaping, writing, rendering, errors):
// graphviz_files_test.cpp.

#include <boost/graph/graphviz.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gradscope/writers/atomic_file.hpp>
#include <gradscope/autodiff/autodiff.hpp>
#include <gradscope/instruments/boost_graph.hpp>
#include <gradscope/writers/graphviz.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "graphviz_testing.hpp"
#include "post_pass.hpp"

using namespace gradscope;
using namespace gradscope::testing;
namespace fs = std::filesystem;

TEST_CASE("gradient magnitude: l2 norm, max and mean of |g|", "[graphviz]") {
  const Matrix<double> m = (Matrix<double>(1, 2) << 3, -4).finished();
  const ConstMatrixMap<double> g(m.data(), 1, 2);
  CHECK(grad_magnitude<double>(g, GradNorm::L2) == 5.0);
  CHECK(grad_magnitude<double>(g, GradNorm::Max) == 4.0);
  CHECK(grad_magnitude<double>(g, GradNorm::Mean) == 3.5);
  const Matrix<double> bad = (Matrix<double>(1, 2) << 1, std::nan("")).finished();
  CHECK(std::isnan(grad_magnitude<double>(ConstMatrixMap<double>(bad.data(), 1, 2), GradNorm::L2)));
}

TEST_CASE("small graph: labels, colours and shapes say what each node is", "[graphviz]") {
  SmallGraph s;
  DotOptions o;
  o.edge_gradients = true;
  const auto nodes = by_id(read_dot(to_dot(s.g, o)));
  const auto& w = named(nodes, "layer1/w");
  CHECK(w.shape == "box3d");
  CHECK(w.dims == "2x2");
  CHECK(std::stod(w.grad) == Approx(std::sqrt(31.25)).epsilon(1e-15));  // dw = [[0,0],[2.5,5]]
  CHECK(w.fillcolor == "#f7f7f7");                                      // 5.59: healthy
  CHECK(w.label.find("grad l2 5.59") != std::string::npos);
  const auto& x = named(nodes, "x");
  CHECK(x.shape == "invhouse");
  CHECK(x.grad.empty());
  CHECK(x.label.find("no gradient") != std::string::npos);
  const auto& loss = named(nodes, "loss");
  CHECK(loss.shape == "doubleoctagon");
  CHECK(loss.label.find("value 3.1") != std::string::npos);
  CHECK(loss.label.find("grad 1") != std::string::npos);  // a scalar shows its signed gradient
  const auto& z = named(nodes, "layer1/z");
  CHECK(z.op == "matmul");
  CHECK(z.style == "filled,rounded");
  CHECK(z.value == "mean 0.5 min -1.5 max 2.5");
}

TEST_CASE("before backward: values only, no gradient annotation or colour", "[graphviz]") {
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  auto y = (x * x).named("y");
  const std::string dot = to_dot(g);
  CHECK(dot.find("grad") == std::string::npos);
  const auto nodes = by_id(read_dot(dot));
  CHECK(nodes.at(fmt::format("n{}", y.index())).label == "y\\nmul 1x1\\nvalue 4");
  CHECK(nodes.at(fmt::format("n{}", y.index())).fillcolor == "#ffffff");
  // A node recorded after backward has no gradient yet; it is drawn as such, not misread.
  g.backward(y);
  auto later = exp(x).named("later");
  const auto after = by_id(read_dot(to_dot(g)));
  CHECK(after.at(fmt::format("n{}", later.index())).label.find("no gradient") != std::string::npos);
  CHECK(after.at(fmt::format("n{}", y.index())).grad == "1");
}

TEST_CASE("round trip: read_graphviz recovers nodes, edges and annotations of the post's network",
          "[graphviz]") {
  test::PostPass s(10, models::Activation::Sigmoid);
  const Graph<double>& g = s.g;
  DotOptions o;
  o.edge_gradients = true;
  const ReadGraph r = read_dot(to_dot(g, o));

  std::map<std::string, std::size_t> vertex;  // id -> read vertex
  std::size_t legend = 0;
  for (auto v : boost::make_iterator_range(boost::vertices(r))) {
    const std::string& id = r[v].id;
    if (id.rfind("legend_", 0) == 0) {
      ++legend;
      continue;
    }
    REQUIRE(std::regex_match(id, std::regex("n[0-9]+")));
    vertex[id] = v;
  }
  CHECK(legend > 0);
  REQUIRE(vertex.size() == g.size());
  for (std::uint32_t i = 0; i < g.size(); ++i) {
    const auto n = g.node(i);
    const ReadVertex& v = r[vertex.at(fmt::format("n{}", i))];
    INFO(n.name());
    CHECK(v.name == n.name());
    CHECK(v.op == n.op_name());
    CHECK(v.dims == fmt::format("{}", n.shape()));
    CHECK(v.label.rfind(n.name() + "\\n", 0) == 0);
    if (n.requires_grad())
      CHECK(std::stod(v.grad) ==
            Approx(grad_magnitude<double>(n.grad(), GradNorm::L2)).epsilon(1e-15));
    else
      CHECK(v.grad.empty());
  }

  // Edges: the same multiset as the Boost mirror, input -> consumer.
  const BoostGraph mirror = to_boost(g);
  std::multiset<std::pair<std::string, std::string>> expected, read;
  for (auto e : boost::make_iterator_range(boost::edges(mirror)))
    expected.emplace(fmt::format("n{}", boost::source(e, mirror)),
                     fmt::format("n{}", boost::target(e, mirror)));
  for (auto e : boost::make_iterator_range(boost::edges(r))) {
    const std::string &s = r[boost::source(e, r)].id, &t = r[boost::target(e, r)].id;
    if (s.rfind("legend_", 0) == 0) continue;
    read.emplace(s, t);
    // Gradient flows along every edge out of a node that has one; none out of the data.
    CHECK(r[e].style == (r[boost::source(e, r)].grad.empty() ? "dashed" : "solid"));
  }
  CHECK(read == expected);
}

TEST_CASE("edge gradients: the flows into a node add up to its gradient", "[graphviz]") {
  Graph<double> g;
  auto x = g.variable(3.0, "x");
  auto y = (x * x).named("y");  // two parallel edges x -> y, each carrying 3 (so dy/dx = 6)
  auto z = (y + x).named("z");  // and one x -> z carrying 1
  g.backward(z);
  DotOptions o;
  o.edge_gradients = true;
  const ReadGraph r = read_dot(to_dot(g, o));
  std::multiset<std::string> from_x;
  double total = 0;
  for (auto e : boost::make_iterator_range(boost::edges(r)))
    if (r[boost::source(e, r)].id == fmt::format("n{}", x.index())) {
      from_x.insert(r[boost::target(e, r)].id + ":" + r[e].label);
      total += std::stod(r[e].grad);
    }
  CHECK(from_x == std::multiset<std::string>{fmt::format("n{}:3", y.index()),
                                             fmt::format("n{}:3", y.index()),
                                             fmt::format("n{}:1", z.index())});
  CHECK(total == x.grad()(0, 0));
}

TEST_CASE("the post's sigmoid network: neutral at the output, deep blue at layer 1",
          "[graphviz][post]") {
  test::PostPass s(10, models::Activation::Sigmoid);
  const Graph<double>& g = s.g;
  const std::string dot = to_dot(g);
  const auto nodes = by_id(read_dot(dot));
  std::size_t drawn = 0;
  for (const auto& [id, v] : nodes)
    if (id[0] == 'n') {
      ++drawn;
      INFO(v.name);
      // Every node's label says its gradient magnitude, or that it has none (the data x, y).
      CHECK(std::regex_search(
          v.label, std::regex(R"(\\ngrad (l2 )?-?[0-9.]+(e[-+][0-9]+)?$|\\nno gradient$)")));
      CHECK((v.grad.empty() == (v.name == "x" || v.name == "y")));
    }
  CHECK(drawn >= 30);
  CHECK(drawn == g.size());
  CHECK(named(nodes, "layer10/z").fillcolor == "#f7f7f7");  // neutral
  CHECK(named(nodes, "loss").fillcolor == "#f7f7f7");
  // The loss reads the output's logits z (bce_with_logits), so its activation a gets exactly 0.
  CHECK(named(nodes, "layer10/a").fillcolor == "#ffffff");
  CHECK(named(nodes, "layer10/a").style == "filled,dashed");
  CHECK(named(nodes, "layer1/z").fillcolor == "#053061");  // deepest blue
  CHECK(named(nodes, "layer1/a").fillcolor == "#053061");
  // The gradient of z shrinks from layer to layer toward the input (σ' ≤ 1/4, w = 0.8).
  for (int l = 1; l < 10; ++l)
    CHECK(std::stod(named(nodes, fmt::format("layer{}/z", l)).grad) <
          std::stod(named(nodes, fmt::format("layer{}/z", l + 1)).grad));

  if (!find_program("dot")) {
    WARN("Graphviz 'dot' not on PATH: skipped rendering the post's network");
    return;
  }
  const ScratchDir scratch("post");
  const fs::path& dir = scratch.path;
  write_dot(g, (dir / "post.dot").string());
  render_dot((dir / "post.dot").string(), (dir / "post.svg").string());
  const std::string svg = read_file(dir / "post.svg");
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("layer1/z") != std::string::npos);
  CHECK(svg.find("#053061") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "post.svg.tmp"));
}

TEST_CASE("scopes become clusters, nested as the scopes nest", "[graphviz]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  Var<double> y;
  {
    auto b = g.scope("block1");
    auto l = g.scope("layer3");
    y = (x * 2.0).named("y");
  }
  const std::string dot = to_dot(g);
  const auto block = dot.find("label=\"block1\"");
  const auto layer = dot.find("label=\"block1/layer3\"");
  const auto member = dot.find(fmt::format("n{};", y.index()));
  REQUIRE(block != std::string::npos);
  REQUIRE(layer != std::string::npos);
  CHECK(block < layer);
  CHECK(layer < member);
  CHECK(dot.find("subgraph cluster_") != std::string::npos);
}

TEST_CASE("collapse: one node per layer of a 100-layer network, with the layer's aggregate norm",
          "[graphviz]") {
  test::PostPass s(100, models::Activation::Relu);
  const Graph<double>& g = s.g;
  DotOptions o;
  o.collapse = true;
  o.edge_gradients = true;
  const ReadGraph r = read_dot(to_dot(g, o));
  const auto nodes = by_id(r);
  std::size_t scopes = 0, singles = 0;
  for (const auto& [id, v] : nodes) {
    if (id[0] == 's') ++scopes;
    if (id[0] == 'n') ++singles;
  }
  CHECK(scopes == 100);
  CHECK(singles == 3);  // x, y and the loss sit at top level
  // layer 37's node aggregates its six nodes: sqrt of the sum of their squared l2 norms
  double sumsq = 0;
  std::uint32_t scope_id = 0;
  for (std::uint32_t i = 0; i < g.size(); ++i)
    if (g.node(i).scope() == "layer37") {
      sumsq += std::pow(grad_magnitude<double>(g.node(i).grad(), GradNorm::L2), 2);
      scope_id = g.node(i).scope_id();
    }
  const auto& layer37 = nodes.at(fmt::format("s{}", scope_id));
  CHECK(layer37.name == "layer37");
  CHECK(layer37.op == "scope");
  CHECK(layer37.shape == "folder");
  CHECK(layer37.label.find("6 nodes, 2 params") != std::string::npos);
  CHECK(std::stod(layer37.grad) == Approx(std::sqrt(sumsq)).epsilon(1e-13));
  // One chain: x -> layer1 -> ... -> layer100 -> loss <- y, edges merged per pair of layers.
  std::size_t chain = 0;
  for (auto e : boost::make_iterator_range(boost::edges(r)))
    if (r[boost::source(e, r)].id.rfind("legend_", 0) != 0) ++chain;
  CHECK(chain == 1 + 99 + 1 + 1);
}

TEST_CASE("options: norm, rank direction, title, reaching a node, no legend", "[graphviz]") {
  Graph<double> g;
  auto x = g.variable((Matrix<double>(1, 2) << 3, -4).finished(), "x");
  auto side = exp(x).named("side");
  auto loss = sum(x * 2.0).named("loss");
  g.backward(loss);
  DotOptions o;
  o.norm = GradNorm::Max;
  o.rankdir = RankDir::LR;
  o.title = "max norm";
  o.legend = false;
  o.reaching = loss.index();
  const std::string dot = to_dot(g, o);
  CHECK(dot.find("rankdir=LR;") != std::string::npos);
  CHECK(dot.find("label=\"max norm\";") != std::string::npos);
  CHECK(dot.find("legend_") == std::string::npos);
  const auto nodes = by_id(read_dot(dot));
  CHECK(nodes.count(fmt::format("n{}", side.index())) == 0);
  CHECK(nodes.at(fmt::format("n{}", x.index())).label.find("grad max 2") != std::string::npos);
}

TEST_CASE("NaN and Inf are marked, not coloured on the scale", "[graphviz]") {
  Graph<double> g;
  auto x = g.variable((Matrix<double>(1, 2) << -1, 4).finished(), "x");
  auto l = log(x).named("l");  // log(-1) = NaN
  auto loss = sum(l).named("loss");
  g.backward(loss);
  const auto nodes = by_id(read_dot(to_dot(g)));
  const auto& v = nodes.at(fmt::format("n{}", l.index()));
  CHECK(v.fillcolor == "#ffff00");
  CHECK(v.label.find("value NaN x1") != std::string::npos);
  CHECK(v.style.find("bold") != std::string::npos);
  const auto& vx =
      nodes.at(fmt::format("n{}", x.index()));  // d log(x)/dx = 1/x is finite: -1, 0.25
  CHECK(vx.fillcolor == "#f7f7f7");
}

TEST_CASE("float graphs export like double ones", "[graphviz]") {
  Graph<float> g;
  auto x = g.variable(2.0f, "x");
  g.backward((x * x).named("y"));
  const auto nodes = by_id(read_dot(to_dot(g)));
  CHECK(nodes.at(fmt::format("n{}", x.index())).grad == "4");
}

TEST_CASE("a float graph of values near FLT_MAX is summarised without overflow", "[graphviz]") {
  Graph<float> g;
  auto x = g.variable(Matrix<float>::Constant(2, 2, 3e38f), "x");
  const auto label = by_id(read_dot(to_dot(g))).at(fmt::format("n{}", x.index())).label;
  CHECK(label.find("mean 3e+38 min 3e+38 max 3e+38") != std::string::npos);
  CHECK(label.find("inf") == std::string::npos);
}
