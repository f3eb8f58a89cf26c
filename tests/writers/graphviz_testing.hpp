#pragma once
// What the Graphviz writer's tests share: DOT read back with boost::read_graphviz, the small graph
// of the golden file, and scratch files.
#include <unistd.h>

#include <boost/graph/graphviz.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gradscope/autodiff/autodiff.hpp>
#include <map>
#include <sstream>
#include <string>
#include <system_error>

namespace gradscope::testing {

// A DOT file read back with boost::read_graphviz: every attribute we check, by node id.
struct ReadVertex {
  std::string id, label, name, op, dims, value, grad, fillcolor, shape, style;
};
struct ReadEdge {
  std::string grad, label, style;
};
using ReadGraph =
    boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, ReadVertex, ReadEdge>;

inline ReadGraph read_dot(const std::string& dot) {
  ReadGraph r;
  boost::dynamic_properties dp(boost::ignore_other_properties);
  dp.property("node_id", boost::get(&ReadVertex::id, r));
  dp.property("label", boost::get(&ReadVertex::label, r));
  dp.property("name", boost::get(&ReadVertex::name, r));
  dp.property("op", boost::get(&ReadVertex::op, r));
  dp.property("dims", boost::get(&ReadVertex::dims, r));
  dp.property("value", boost::get(&ReadVertex::value, r));
  dp.property("grad", boost::get(&ReadVertex::grad, r));
  dp.property("fillcolor", boost::get(&ReadVertex::fillcolor, r));
  dp.property("shape", boost::get(&ReadVertex::shape, r));
  dp.property("style", boost::get(&ReadVertex::style, r));
  dp.property("grad", boost::get(&ReadEdge::grad, r));
  dp.property("label", boost::get(&ReadEdge::label, r));
  dp.property("style", boost::get(&ReadEdge::style, r));
  std::istringstream in(dot);
  REQUIRE(boost::read_graphviz(in, r, dp, "node_id"));
  return r;
}

inline std::map<std::string, ReadVertex> by_id(const ReadGraph& r) {
  std::map<std::string, ReadVertex> m;
  for (auto v : boost::make_iterator_range(boost::vertices(r))) m[r[v].id] = r[v];
  return m;
}

inline const ReadVertex& named(const std::map<std::string, ReadVertex>& m, const std::string& name) {
  for (const auto& [id, v] : m)
    if (v.name == name) return v;
  FAIL("no node named " << name);
  throw;
}

// The small graph of the golden file: every value and gradient is exact in binary.
struct SmallGraph {
  Parameter<double> w{(Matrix<double>(2, 2) << 0.5, -1, 2, 0.25).finished(), "w"};
  Graph<double> g;
  Var<double> loss;
  SmallGraph() {
    auto x = g.constant((Matrix<double>(2, 1) << 1, 2).finished(), "x");
    Var<double> a;
    {
      auto s = g.scope("layer1");
      auto z = matmul(g.param(w), x).named("z");  // [-1.5, 2.5]
      a = relu(z).named("a");                     // [0, 2.5]: one dead unit
    }
    loss = (sum(a * a) * 0.5).named("loss");  // 3.125
    g.backward(loss);
  }
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A fresh temporary directory, removed again when the test ends; the pid keeps concurrent runs
// (several build trees on one machine) apart.
struct ScratchDir {
  std::filesystem::path path;
  explicit ScratchDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             fmt::format("gradscope_graphviz_test_{}_{}", name, ::getpid())) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// Restores PATH when it goes out of scope.
struct PathGuard {
  std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  ~PathGuard() { ::setenv("PATH", saved.c_str(), 1); }
};

}  // namespace gradscope::testing
