// The gradscope command line, run as a user runs it: output files, exit codes, error lines.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "../models/post_reference.hpp"

namespace {

struct Result {
  int code;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool exists(const std::string& path) { return bool(std::ifstream(path)); }

Result run(const std::string& args) {
  // Per process: ctest -j runs several of these cases at once in the same directory.
  const std::string tag = std::to_string(::getpid());
  const std::string out = "cli_test_stdout." + tag, err = "cli_test_stderr." + tag;
  const std::string cmd = std::string(GRADSCOPE_CLI) + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  Result r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

std::string write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// A file of this test process, removed when the test case ends.
struct TempFile {
  std::string path;
  ~TempFile() { std::remove(path.c_str()); }
};

TempFile fixed_points_csv() {
  const auto p = gradscope::testing::fixed_points();
  std::string csv = "x1,x2,label\n";
  for (std::size_t s = 0; s < p.y.size(); ++s)
    csv += fmt::format("{},{},{}\n", p.x[0][s], p.x[1][s], int(p.y[s]));
  return {write_file("cli_test_points." + std::to_string(::getpid()) + ".csv", csv)};
}

// Every entry of the JSON matrix within 1e-10 of the reference, relative to its largest entry.
void check_close(const nlohmann::json& got, const gradscope::testing::Mat& want, const char* what,
                 int layer) {
  double scale = 0;
  for (auto& row : want)
    for (double v : row) scale = std::max(scale, std::abs(v));
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    for (std::size_t j = 0; j < want[i].size(); ++j) {
      INFO(what << " layer " << layer << " [" << i << "," << j << "]");
      CHECK(std::abs(got[i][j].get<double>() - want[i][j]) <= 1e-10 * scale);
    }
}

}  // namespace

TEST_CASE("demo --data --json: dz, dw, db equal the post's algorithm on the same points") {
  const auto csv = fixed_points_csv();
  for (bool sigmoid : {false, true}) {
    INFO((sigmoid ? "sigmoid" : "relu"));
    std::remove("cli_test_demo.json");
    const auto r = run("demo --data " + csv.path + " --json cli_test_demo.json" +
                       (sigmoid ? " --act sigmoid" : ""));
    REQUIRE(r.code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.find("layer") != std::string::npos);
    const auto doc = nlohmann::json::parse(slurp("cli_test_demo.json"));
    CHECK(doc["config"]["data"] == csv.path);
    const auto ref = gradscope::testing::post_backprop(
        gradscope::testing::fixed_points(), 10, 2, 0.8, sigmoid,
        sigmoid ? gradscope::testing::Derivative::Logistic : gradscope::testing::Derivative::Relu);
    REQUIRE(doc["layers"].size() == 10);
    for (const auto& layer : doc["layers"]) {
      const int l = layer["layer"];
      check_close(layer["dw"], ref.dw[l], "dw", l);
      gradscope::testing::Mat db{ref.db[l]}, dz(1);
      check_close(nlohmann::json::array({layer["db"]}), db, "db", l);
      for (auto& row : ref.dz[l]) dz[0].push_back(row[0]);  // sample 0, no 1/m: the post's a - y
      check_close(nlohmann::json::array({layer["dz"]}), dz, "dz", l);
      CHECK(layer["activation"] == (l == 10 || sigmoid ? "sigmoid" : "relu"));
      CHECK(layer["dw_norm"].get<double>() > 0);
    }
  }
}

TEST_CASE("demo --arch residual --norm layer: blocks and normalised layers, diagnosed as units") {
  std::remove("cli_test_residual.json");
  const auto r = run("demo --arch residual --norm layer --depth 12 --width 8 --init he "
                     "--json cli_test_residual.json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("residual (blocks 2..11), layer norm") != std::string::npos);
  const auto doc = nlohmann::json::parse(slurp("cli_test_residual.json"));
  CHECK(doc["config"]["arch"] == "residual");
  CHECK(doc["config"]["norm"] == "layer");
  REQUIRE(doc["layers"].size() == 12);
  const auto& units = doc["diagnosis"]["layers"];
  REQUIRE(units.size() == 12);
  CHECK(units[1]["scope"] == "block2");
  CHECK(units[11]["scope"] == "layer12");
}

TEST_CASE("demo's ReLU table: ratio 0.8 of dz and db below layer 9, dw ratio 1") {
  const auto csv = fixed_points_csv();
  const auto r = run("demo --data " + csv.path + " --json cli_test_ratio.json");
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(slurp("cli_test_ratio.json"));
  for (const auto& layer : doc["layers"]) {
    if (layer["layer"].get<int>() > 8) continue;
    CHECK(layer["dz_ratio"].get<double>() == Approx(0.8).epsilon(1e-14));
    CHECK(layer["db_ratio"].get<double>() == Approx(0.8).epsilon(1e-14));
    CHECK(layer["dw_ratio"].get<double>() == Approx(1.0).epsilon(1e-12));
  }
  CHECK(doc["layers"][9]["dz_ratio"].is_null());
}

TEST_CASE("train: loss history, accuracy of network and baseline, per-layer gradients") {
  std::remove("cli_test_train.json");
  const auto r =
      run("train --iters 300 --samples 40 --history-every 100 --json cli_test_train.json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("logistic regression") != std::string::npos);
  const auto doc = nlohmann::json::parse(slurp("cli_test_train.json"));
  CHECK(doc["config"]["iterations"] == 300);
  CHECK(doc["config"]["samples"] == 80);
  const auto& h = doc["network"]["loss_history"];
  REQUIRE(h.size() == 4);
  CHECK(h[3]["iteration"] == 300);
  CHECK(h[3]["loss"].get<double>() < h[0]["loss"].get<double>());
  CHECK(doc["network"]["accuracy"].get<double>() >= 0.5);
  CHECK(doc["baseline"].contains("accuracy"));
  CHECK(doc["layers"].size() == 10);
}

TEST_CASE("demo and train: gradient diagnosis table, measured_gain, theory_gain, verdict") {
  const auto relu = run("demo --json cli_test_diag_relu.json");
  REQUIRE(relu.code == 0);
  CHECK(relu.out.find("network: gain 0.8 per layer (theory ") != std::string::npos);
  CHECK(relu.out.find("theory is mean-field (wide layers); at width 2") != std::string::npos);
  auto doc = nlohmann::json::parse(slurp("cli_test_diag_relu.json"));
  CHECK(doc["measured_gain"].get<double>() == Approx(0.8).margin(1e-9));
  CHECK(doc["theory_gain"].is_number());
  CHECK(doc["verdict"] == "vanishing");
  CHECK(doc["diagnosis"]["layers"].size() == 10);

  const auto sigmoid = run("demo --act sigmoid --json cli_test_diag_sigmoid.json");
  REQUIRE(sigmoid.code == 0);
  doc = nlohmann::json::parse(slurp("cli_test_diag_sigmoid.json"));
  CHECK(doc["measured_gain"].get<double>() == Approx(0.1726).margin(0.0005));
  CHECK(doc["diagnosis"]["layers"][4]["gain"].get<double>() == Approx(0.188).margin(0.0015));
  // At width 2 without dead units, mean-field's average agrees with the middle layers.
  CHECK(doc["diagnosis"]["layers"][4]["ratio"].get<double>() == Approx(1).margin(0.01));
  CHECK(doc["verdict"] == "vanishing");

  const auto train = run("train --iters 20 --samples 40 --json cli_test_diag_train.json");
  REQUIRE(train.code == 0);
  CHECK(train.out.find("gradient diagnosis before training") != std::string::npos);
  CHECK(train.out.find("gradient diagnosis after training") != std::string::npos);
  doc = nlohmann::json::parse(slurp("cli_test_diag_train.json"));
  CHECK(doc.contains("measured_gain"));
  CHECK(doc.contains("theory_gain"));
  CHECK(doc["verdict"].is_string());
  CHECK(doc["diagnosis_before_training"]["measured_gain"].get<double>() ==
        Approx(1.1).margin(1e-9));
}

TEST_CASE("demo and train --arch rnn|lstm: per_step_gain and verdict through time") {
  const auto linear = run("demo --arch rnn --act identity --steps 100 --rec-scale 1.1 --json cli_test_rnn.json");
  REQUIRE(linear.code == 0);
  CHECK(linear.out.find("Pascanu bound: sigma_max(W_rec) 1.1 x gamma 1") != std::string::npos);
  auto doc = nlohmann::json::parse(slurp("cli_test_rnn.json"));
  CHECK(doc["per_step_gain"].get<double>() == Approx(1.1).epsilon(1e-9));
  CHECK(doc["verdict"] == "exploding");
  CHECK(doc["config"]["rec_init"] == "orthogonal");
  CHECK(doc["through_time"]["grad_norm_per_step"].size() == 100);
  CHECK(doc["through_time"]["pascanu_bound"].get<double>() == Approx(1.1).epsilon(1e-9));

  const auto lstm = run("train --arch lstm --steps 10 --width 8 --samples 60 --iters 20 "
                        "--optimizer adam --history-every 10 --json cli_test_lstm.json");
  REQUIRE(lstm.code == 0);
  doc = nlohmann::json::parse(slurp("cli_test_lstm.json"));
  CHECK(doc["config"]["arch"] == "lstm");
  CHECK(doc["per_step_gain"].is_number());
  CHECK(doc["verdict"].is_string());
  CHECK(doc["through_time"]["pascanu_bound"].is_null());  // no bound for an LSTM
  CHECK(doc["history"].size() == 3);
  CHECK(doc["test_mse"] == doc["history"][2]["test_mse"]);
}

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

TEST_CASE(
    "compare: the post's ReLU and corrected sigmoid derivations agree, the published "
    "sigmoid one is wrong from layer9/z") {
  const auto csv = fixed_points_csv();
  std::remove("cli_test_compare.json");
  const auto r = run("compare --data " + csv.path + " --json cli_test_compare.json");
  REQUIRE(r.code == 0);
  // The line is wrapped at 100 columns: its two parts.
  CHECK(r.out.find("post-sigmoid: DISAGREES with autodiff at 27 of 30 nodes. First wrong node in "
                   "backward order:") != std::string::npos);
  CHECK(r.out.find("layer9/z (same direction, 4.25") != std::string::npos);
  const auto doc = nlohmann::json::parse(slurp("cli_test_compare.json"));
  const auto& d = doc["derivations"];
  REQUIRE(d.size() == 3);
  CHECK(d[0]["derivation"] == "post-relu");
  CHECK(d[0]["agrees"] == true);
  CHECK(d[0]["first_wrong"].is_null());
  CHECK(d[1]["derivation"] == "post-sigmoid");
  CHECK(d[1]["agrees"] == false);
  CHECK(d[1]["first_wrong"]["node"] == "layer9/z");
  CHECK(d[1]["first_wrong"]["factor"].get<double>() > 4);
  CHECK(d[1]["first_wrong"]["cosine"].get<double>() > 0.9999);  // a scale error, not a sign error
  CHECK(d[1]["first_wrong"]["rel_error"].get<double>() > 3);
  CHECK(d[2]["derivation"] == "corrected-sigmoid");
  CHECK(d[2]["agrees"] == true);
  CHECK(d[1]["nodes"].size() == 30);
  CHECK(d[1]["layers"].size() == 10);
  CHECK(run("compare --derivation post-tanh").code == 2);
}
