// The Graphviz writer's DOT as text and files: the golden file, names escaped as Graphviz reads
// them, files written whole or not at all and rendered, errors naming the file or the option.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gradscope/autodiff/autodiff.hpp>
#include <gradscope/writers/atomic_file.hpp>
#include <gradscope/writers/graphviz.hpp>
#include <string>
#include <vector>

#include "graphviz_testing.hpp"

using namespace gradscope;
using namespace gradscope::testing;
namespace fs = std::filesystem;

TEST_CASE("golden file: a small graph after backward, with edge gradients", "[graphviz]") {
  SmallGraph s;
  DotOptions o;
  o.edge_gradients = true;
  o.title = "small graph";
  const std::string dot = to_dot(s.g, o);
  const fs::path golden = fs::path(GRADSCOPE_TEST_DATA) / "golden" / "small_graph.dot";
  if (std::getenv("GRADSCOPE_UPDATE_GOLDEN")) {
    std::ofstream(golden, std::ios::binary) << dot;
    WARN("rewrote " << golden);
  }
  REQUIRE(fs::exists(golden));
  CHECK(dot == read_file(golden));
}

TEST_CASE("names with backslashes, quotes or a DOT keyword give DOT that Graphviz reads", "[graphviz]") {
  Graph<double> g;
  auto a = g.variable(1.0, "ends in \\");
  auto b = g.variable(2.0, "say \"hi\" \\");
  auto c = g.variable(3.0, "node");  // a DOT keyword: quoted, or Graphviz reads `name=node` wrong
  g.backward((a * b * c).named("back\\slash\\"));
  const std::string dot = to_dot(g);
  const auto nodes = by_id(read_dot(dot));
  // Backslashes doubled, as Graphviz's escape strings (label, tooltip) need; quotes escaped.
  CHECK(nodes.at(fmt::format("n{}", a.index())).name == "ends in \\\\");
  CHECK(nodes.at(fmt::format("n{}", b.index())).name == "say \"hi\" \\\\");
  CHECK(nodes.at(fmt::format("n{}", c.index())).name == "node");
  CHECK(dot.find("name=\"node\"") != std::string::npos);
  if (!find_program("dot")) {
    WARN("Graphviz 'dot' not on PATH: skipped rendering the names");
    return;
  }
  const std::string svg = render_dot_text(dot, "svg", "names");  // Error if dot rejects it
  CHECK(svg.find("ends in \\</text>") != std::string::npos);     // one backslash, as named
  CHECK(svg.find("back\\slash\\</text>") != std::string::npos);
}

TEST_CASE("files: written whole or not at all, rendered when dot is found", "[graphviz][files]") {
  SmallGraph s;
  const ScratchDir scratch("files");
  const fs::path& dir = scratch.path;
  const std::string dot = (dir / "small.dot").string();
  write_dot(s.g, dot);
  CHECK(read_file(dot) == to_dot(s.g));
  CHECK_FALSE(fs::exists(dot + ".tmp"));

  {
    PathGuard guard;
    ::setenv("PATH", (dir / "nowhere").c_str(), 1);
    const DotExport e = export_dot(s.g, (dir / "plain.dot").string());
    CHECK(e.files == std::vector<std::string>{(dir / "plain.dot").string()});
    CHECK(e.note.find("dot -Tsvg " + (dir / "plain.dot").string()) != std::string::npos);
    CHECK_THROWS_WITH(render_dot(dot, (dir / "small.svg").string()),
                      Catch::Contains("'dot' is not on PATH"));
    CHECK_FALSE(fs::exists(dir / "small.svg"));
  }
  if (!find_program("dot")) {
    WARN("Graphviz 'dot' not on PATH: skipped rendering");
    return;
  }
  const DotExport e = export_dot(s.g, (dir / "rendered.dot").string());
  REQUIRE(e.files.size() == 3);
  CHECK(e.note.empty());
  CHECK(read_file(dir / "rendered.svg").find("<svg") != std::string::npos);
  CHECK(read_file(dir / "rendered.png").rfind("\x89PNG", 0) == 0);
}

TEST_CASE("bad input: clear errors naming the file or the option", "[graphviz][errors]") {
  SmallGraph s;
  const ScratchDir scratch("errors");
  const fs::path& dir = scratch.path;
  const std::string missing_dir = (dir / "no" / "such" / "dir" / "g.dot").string();
  CHECK_THROWS_WITH(write_dot(s.g, missing_dir), Catch::Contains(missing_dir));
  CHECK_FALSE(fs::exists(missing_dir + ".tmp"));
  DotOptions o;
  o.healthy_low = 0;
  CHECK_THROWS_WITH(to_dot(s.g, o), Catch::Contains("healthy"));
  o = {};
  o.healthy_high = o.healthy_low;
  CHECK_THROWS_AS(to_dot(s.g, o), Error);
  o = {};
  o.reaching = 1000;
  CHECK_THROWS_WITH(to_dot(s.g, o), Catch::Contains("#1000"));
  const std::string dot = (dir / "g.dot").string();
  write_dot(s.g, dot);
  CHECK_THROWS_WITH(render_dot(dot, (dir / "g.jpg").string()), Catch::Contains("g.jpg"));
  CHECK_THROWS_WITH(render_dot((dir / "absent.dot").string(), (dir / "g.svg").string()),
                    Catch::Contains("absent.dot"));
  if (find_program("dot")) {  // dot rejects a file that is not DOT; nothing is left behind
    std::ofstream(dir / "broken.dot") << "digraph { this is not dot";
    CHECK_THROWS_WITH(render_dot((dir / "broken.dot").string(), (dir / "broken.svg").string()),
                      Catch::Contains("broken.svg"));
    CHECK_FALSE(fs::exists(dir / "broken.svg"));
    CHECK_FALSE(fs::exists(dir / "broken.svg.tmp"));
  }
}
