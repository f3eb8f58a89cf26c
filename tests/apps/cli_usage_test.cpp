// The gradscope command line, run as a user runs it: help, version, output files (the graph, the
// plot, '-' for standard output) and tables fit to 100 columns.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>

#include "apps/cli_sandbox.hpp"

using gradscope::testing::run;
using gradscope::testing::slurp;

namespace {
bool exists(const std::string& path) { return bool(std::ifstream(path)); }
}  // namespace

TEST_CASE("help: exits 0 and lists the subcommands") {
  const auto r = run("--help");
  CHECK(r.code == 0);
  CHECK(r.out.find("demo") != std::string::npos);
  CHECK(r.out.find("train") != std::string::npos);
}

TEST_CASE("demo --dot: the annotated graph of the pass, rendered when Graphviz is installed") {
  for (const char* f : {"cli_test_graph.dot", "cli_test_graph.svg", "cli_test_graph.png"})
    std::remove(f);
  const auto r = run("demo --act sigmoid --collapse --grad-norm max --dot cli_test_graph.dot");
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  const std::string dot = slurp("cli_test_graph.dot");
  CHECK(dot.rfind("digraph G {", 0) == 0);
  CHECK(dot.find("name=layer1, op=scope") != std::string::npos);  // collapsed: one node per layer
  CHECK(dot.find("grad max ") != std::string::npos);
  CHECK(dot.find("fillcolor=\"#053061\"") != std::string::npos);  // sigmoid: layer 1 deep blue
  const bool graphviz = std::system("command -v dot >/dev/null 2>&1") == 0;
  CHECK(exists("cli_test_graph.svg") == graphviz);
  CHECK(exists("cli_test_graph.png") == graphviz);
  CHECK(r.out.find(graphviz ? "wrote cli_test_graph.dot, cli_test_graph.svg, cli_test_graph.png"
                            : "render with: dot -Tsvg cli_test_graph.dot") != std::string::npos);
}

TEST_CASE("train --plot: both decision surfaces rendered by gnuplot, with the script beside them") {
  for (const char* f : {"cli_test_surface.svg", "cli_test_surface.gp"}) std::remove(f);
  const bool gnuplot = std::system("command -v gnuplot >/dev/null 2>&1") == 0;
  const auto r = run("train --iters 100 --samples 40 --plot cli_test_surface.svg");
  if (!gnuplot) {  // one line, nothing written
    CHECK(r.code == 2);
    CHECK(r.err.find("gnuplot is not on PATH") != std::string::npos);
    CHECK(!exists("cli_test_surface.gp"));
    return;
  }
  REQUIRE(r.code == 0);
  CHECK(r.out.find("wrote cli_test_surface.svg, cli_test_surface.gp") != std::string::npos);
  const std::string svg = slurp("cli_test_surface.svg");
  CHECK(svg.find("<svg") != std::string::npos);
  CHECK(svg.find("logistic regression") != std::string::npos);  // the second panel's title
  CHECK(!exists("cli_test_surface.svg.tmp"));
  // The script holds a 41 x 41 grid per model and the 80 training points.
  const std::string gp = slurp("cli_test_surface.gp");
  CHECK(gp.find("$network << EOD\n-10 -10 ") != std::string::npos);
  CHECK(gp.find("\n30 30 ") != std::string::npos);
  CHECK(std::count(gp.begin(), gp.end(), '\n') > 2 * 41 * 42 + 80);
}

TEST_CASE("DOT options: --svg alone, and nothing is written when Graphviz is missing") {
  for (const char* f : {"cli_test_alone.svg", "cli_test_nodot.dot", "cli_test_nodot.svg"})
    std::remove(f);
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    const auto r = run("demo --svg cli_test_alone.svg");
    CHECK(r.code == 0);
    CHECK(r.out.find("wrote cli_test_alone.svg\n") != std::string::npos);
    const std::string svg = slurp("cli_test_alone.svg");
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(svg.find("</svg>") != std::string::npos);
    std::remove("cli_test_alone.svg");
  }
  auto r = run("demo --dot cli_test_nodot.dot --grad-norm median");
  CHECK(r.code == 2);
  CHECK(r.err.find("--grad-norm") != std::string::npos);
  r = run("demo --collapse");
  CHECK(r.err == "gradscope: error: --collapse needs --dot or --svg\n");
  const std::string path = std::getenv("PATH");
  ::setenv("PATH", "/nonexistent", 1);  // no dot: --svg is an error before any file is written
  r = run("demo --dot cli_test_nodot.dot --svg cli_test_nodot.svg --json cli_test_nodot.json");
  ::setenv("PATH", path.c_str(), 1);
  CHECK(r.code == 2);
  CHECK(r.err.find("Graphviz's dot is not on PATH") != std::string::npos);
  CHECK(!exists("cli_test_nodot.dot"));
  CHECK(!exists("cli_test_nodot.svg"));
  CHECK(!exists("cli_test_nodot.json"));
}

TEST_CASE("bare gradscope lists the subcommands, and --version prints the version") {
  auto r = run("");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "gradscope: error: a subcommand is required: demo, train, compare, sweep, merge, report (gradscope --help "
        "describes them)\n");
  r = run("--version");
  CHECK(r.code == 0);
  CHECK(r.out == "gradscope " GRADSCOPE_VERSION "\n");
}

TEST_CASE("'-' is standard output: the JSON or DOT there, the report on stderr") {
  auto r = run("demo --json -");
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(r.out);  // stdout holds the JSON and nothing else
  CHECK(doc["command"] == "demo");
  CHECK(r.err.find("gradient diagnosis") != std::string::npos);
  CHECK(r.err.find("wrote standard output") != std::string::npos);
  CHECK(!exists("-"));
  r = run("demo --dot - --collapse");
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind("digraph G {", 0) == 0);
  r = run("demo --json - --dot -");
  CHECK(r.code == 2);
  CHECK(r.err == "gradscope: error: --dot -: standard output is already taken by --json -\n");
  r = run("train --plot -");
  CHECK(r.code == 2);
  CHECK(r.err.find("--plot -: the image's format comes from its extension") != std::string::npos);
}

TEST_CASE("init aliases: kaiming and glorot are he and xavier") {
  for (const auto& [alias, described] :
       {std::pair{"kaiming", "he_normal(gain 1)"}, std::pair{"glorot", "xavier_uniform(gain 1)"},
        std::pair{"kaiming_uniform", "he_uniform(gain 1)"},
        std::pair{"glorot_normal", "xavier_normal(gain 1)"}}) {
    INFO(alias);
    const auto r = run(std::string("demo --json - --init ") + alias);
    REQUIRE(r.code == 0);
    CHECK(nlohmann::json::parse(r.out)["config"]["hidden_init"] == described);
  }
}

TEST_CASE("help: defaults shown, and why demo's differ from train's") {
  auto r = run("--help");
  CHECK(r.out.find("so their defaults differ") != std::string::npos);
  r = run("demo --help");
  CHECK(r.code == 0);
  CHECK(r.out.find("first two experiments") != std::string::npos);
  CHECK(r.out.find("--weight-scale FLOAT=0.8") != std::string::npos);
  CHECK(r.out.find("--samples INT=10 ") != std::string::npos);
  CHECK(r.out.find("--depth INT=10 ") != std::string::npos);
  r = run("train --help");
  CHECK(r.out.find("third experiment") != std::string::npos);
  CHECK(r.out.find("--weight-scale FLOAT=1.1") != std::string::npos);
  CHECK(r.out.find("--samples INT=1000 ") != std::string::npos);
  CHECK(r.out.find("--iters INT=50000 ") != std::string::npos);
}

TEST_CASE("compare says which derivation fits which network") {
  auto r = run("compare --help");
  CHECK(r.out.find("No built-in derivation is for tanh") != std::string::npos);
  r = run("compare --act tanh --derivation post-relu");
  CHECK(r.code == 0);
  CHECK(r.out.find("note: post-relu is derived for the relu net, not the tanh one (no built-in "
                   "derivation is for tanh)") != std::string::npos);
  r = run("compare --act sigmoid --derivation post-relu --json -");
  CHECK(nlohmann::json::parse(r.out)["derivations"][0]["derived_for"] == "relu");
  CHECK(r.err.find("post-relu fits --act relu") != std::string::npos);
}

TEST_CASE("tables and prose fit 100 columns unless --wide") {
  auto longest = [](const std::string& text) {
    std::size_t most = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) most = std::max(most, line.size());
    return most;
  };
  for (const char* cmd : {"demo", "demo --act sigmoid --width 3", "compare --act tanh"}) {
    INFO(cmd);
    const auto narrow = run(cmd), wide = run(std::string(cmd) + " --wide");
    REQUIRE(narrow.code == 0);
    CHECK(longest(narrow.out) <= 100);
    CHECK(longest(wide.out) > 100);
  }
  // Every number is still there: the layer table's columns after 100 come in a second block.
  const auto r = run("demo");
  CHECK(r.out.find("|db| ratio") != std::string::npos);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') > 30);
}
