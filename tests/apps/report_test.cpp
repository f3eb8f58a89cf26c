// gradscope report: the page and every file it references, a report directory written completely
// or not at all, and the page without gnuplot and Graphviz.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <cstdio>
#include <set>
#include <sstream>

#include "cli_sandbox.hpp"

using namespace gradscope::testing;
using Catch::Matchers::Contains;

namespace {
// The files the page references as src or href.
std::set<std::string> references(const std::string& html) {
  std::set<std::string> files;
  const std::regex attr(R"((?:src|href)="([^"]+)\")");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), attr); it != std::sregex_iterator();
       ++it)
    files.insert((*it)[1]);
  return files;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A complete image: an SVG closed, a PNG ending in its IEND chunk.
void check_complete_file(const fs::path& p) {
  INFO(p.string());
  const std::string content = slurp(p);
  REQUIRE_FALSE(content.empty());
  if (p.extension() == ".svg") CHECK(content.find("</svg>") != std::string::npos);
  if (p.extension() == ".svg")
    CHECK(content.substr(content.find_last_not_of(" \n\r\t") - 5, 6) == "</svg>");
  if (p.extension() == ".png") {
    REQUIRE(content.size() > 12);
    CHECK(content.compare(0, 4, "\x89PNG") == 0);
    CHECK(content.compare(content.size() - 8, 4, "IEND") == 0);
  }
}

// Nothing but `expected` in the sandbox: no temporary directory left beside the report.
void check_only(const Sandbox& box, std::vector<std::string> expected) {
  std::sort(expected.begin(), expected.end());
  CHECK(box.files() == expected);
}
// The phase diagram and the spectra: their data hold the physics the page states.
void check_theory_files(const fs::path& dir) {
  const std::string html = slurp(dir / "index.html");
  CHECK_THAT(html, Contains("Phase diagram (tanh, sigma_b^2 = 0.05): the depth at which"));
  CHECK_THAT(html, Contains("Spectrum of identity, orthogonal at depth 32: mean s^2 1, "));
  // log10 attenuation per (sigma_w^2, depth): ordered below the edge of chaos, chaotic above.
  std::istringstream csv(slurp(dir / "phase-diagram.csv"));
  std::string line;
  std::getline(csv, line);
  CHECK(line == "sigma_w2,depth,log10_attenuation,chi1,xi");
  std::size_t rows = 0;
  while (std::getline(csv, line)) {
    double w2 = 0, log10_attenuation = 0;
    long depth = 0;
    REQUIRE(std::sscanf(line.c_str(), "%lf,%ld,%lf", &w2, &depth, &log10_attenuation) == 3);
    ++rows;
    INFO(line);
    if (depth == 60 && w2 == 0.5) CHECK(log10_attenuation < -5);
    if (depth == 60 && w2 == 4) CHECK(log10_attenuation > 1.3);
  }
  CHECK(rows == 12 * 8);
  CHECK_THAT(slurp(dir / "phase-diagram.gp"), Contains("with lines"));  // the theory's curve
  // The spectra: every seed's s^2; linear orthogonal layers keep all of them at 1.
  const auto doc = nlohmann::json::parse(slurp(dir / "spectra-sweep.json"));
  REQUIRE(doc["cells"].size() == 6);
  for (const auto& c : doc["cells"]) {
    INFO(c["act"] << " " << c["init"]);
    REQUIRE(c["jacobian_s2"].size() == 2 * 256);
    if (c["act"] == "identity" && c["init"] == "orthogonal")
      for (const auto& v : c["jacobian_s2"]) CHECK(v.get<double>() == Approx(1).epsilon(1e-9));
  }
}
}  // namespace

TEST_CASE("report: a page whose every reference exists and is complete", "[cli][report]") {
  Sandbox box;
  fs::create_directories(box.dir() / "report");  // an empty directory is taken
  const auto r = run(box, "report --out report --iters 200");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("wrote report/index.html"));
  const std::string html = slurp(box.dir() / "report/index.html");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("</html>") != std::string::npos);
  // The verdicts in words: the ReLU net vanishes by 0.8 a layer; the post's sigmoid bug is caught.
  CHECK_THAT(html, Contains("ReLU net: the gradient dL/dz changes by a factor of 0.8 per layer"));
  CHECK_THAT(html, Contains("post-sigmoid disagrees with autodiff from node layer9/z"));
  CHECK_THAT(html, Contains("This is the post&#39;s bug, caught"));
  CHECK_THAT(html, Contains("post-relu agrees with autodiff at every node"));
  CHECK_THAT(html, Contains("relu with he initialisation: measured gain"));
  // The architectures: each remedy's verdict beside the plain stack's, the linear RNN's gain s.
  for (const char* finding :
       {"plain ReLU stack, 50 units of 64: the gradient changes by 0.69[0-9]* per unit, [^<]* "
        "Verdict: vanishing",
        "residual ReLU stack, 50 units of 64: the gradient changes by 0.99[0-9]* per unit, [^<]* "
        "Verdict: stable",
        "plain tanh stack, [^<]* Verdict: vanishing",
        "layer-normalised tanh stack, [^<]* Verdict: stable",
        "Linear RNN, s = 0.9: per-step gain 0.9 beside s = 0.9 and Pascanu&#39;s bound 0.9; "
        "[^<]* Verdict: vanishing",
        "Linear RNN, s = 1.1: per-step gain 1.1 beside s = 1.1 and Pascanu&#39;s bound 1.1; "
        "[^<]* Verdict: exploding",
        "Adding problem, T = 50, vanilla tanh RNN: the gradient reaching t = 1 is [0-9.e-]+ of",
        "Adding problem, T = 50, LSTM: the gradient reaching t = 1 is [0-9.e-]+ of"}) {
    INFO(finding);
    CHECK(std::regex_search(html, std::regex(finding)));
  }
  const auto files = references(html);
  std::size_t images = count(html, "<img ");
  CHECK(images >= 13);  // 9 plots, the decision surfaces, 3 graphs
  for (const auto& f : files) {
    INFO(f);
    CHECK(f.find('/') == std::string::npos);  // beside the page
    REQUIRE(fs::is_regular_file(box.dir() / "report" / f));
    check_complete_file(box.dir() / "report" / f);
  }
  for (const char* f : {"demo-relu.json", "demo-relu.dot", "demo-sigmoid.json", "compare.json",
                        "train.json", "train.dot", "monitor.csv", "loss.csv", "layer-gradients.csv",
                        "loss.svg", "loss.png", "gradient-history.svg", "layer-gradients.png",
                        "decision-surface.svg", "decision-surface.gp", "demo-relu.svg",
                        "sweep.json", "sweep.csv", "sweep-layers.csv", "sweep-layers.svg",
                        "phase-diagram.svg", "phase-diagram.png", "phase-diagram.gp",
                        "phase-diagram.csv", "phase-diagram-theory.csv", "phase-diagram-sweep.json",
                        "spectra.svg", "spectra.png", "spectra.csv", "spectra-sweep.json",
                        "architectures-residual.svg", "architectures-residual.csv",
                        "architectures-residual-1.json", "architectures-residual-2.json",
                        "architectures-norm.svg", "architectures-norm.png",
                        "architectures-linear-rnn.svg", "architectures-linear-rnn.csv",
                        "architectures-linear-rnn-0.9.json", "architectures-adding-rnn-50.json",
                        "architectures-adding-lstm-50.json"})
    CHECK(files.count(f) == 1);
  check_only(box, {"report"});
  check_theory_files(box.dir() / "report");

  // A second run replaces the previous report as a whole.
  box.write("report/old-note.txt", "from before");
  const auto again = run(box, "report --out report/ --iters 10");
  INFO(again.err);
  REQUIRE(again.code == 0);
  CHECK_FALSE(fs::exists(box.dir() / "report/old-note.txt"));
  CHECK(fs::exists(box.dir() / "report/index.html"));
  check_only(box, {"report"});
}

TEST_CASE("report: --out that is not a report's directory is refused, nothing written",
          "[cli][report][reliability]") {
  Sandbox box;
  fs::create_directories(box.dir() / "mine");
  box.write("mine/thesis.tex", "years of work");
  box.write("file.txt", "text");
  struct Case {
    const char* out;
    const char* message;
  };
  for (const Case& c :
       {Case{"mine", "--out mine: is a directory that is not a previous report (no "
                     ".gradscope-report in it); give a new or empty directory"},
        Case{"file.txt", "--out file.txt: exists and is not a directory"},
        Case{"missing/report", "--out missing/report: directory 'missing' does not exist"},
        Case{"''", "--out: give a directory"}}) {
    INFO(c.out);
    const auto r = run(box, std::string("report --iters 10 --out ") + c.out);
    CHECK(r.code == 2);
    CHECK(r.err == std::string("gradscope: error: ") + c.message + "\n");
    CHECK(r.out.empty());
    check_only(box, {"file.txt", "mine"});
    CHECK(slurp(box.dir() / "mine/thesis.tex") == "years of work");
  }
}

TEST_CASE("report: without gnuplot and Graphviz the page and data are written, and say what is "
          "missing",
          "[cli][report]") {
  Sandbox box;
  const auto r = run(box, "report --out report --iters 10", "umask 027; PATH=/nonexistent ");
  INFO(r.err);
  REQUIRE(r.code == 0);
  // The directory and its files get the modes mkdir and open give new ones under the umask.
  CHECK(fs::status(box.dir() / "report").permissions() == fs::perms(0750));
  CHECK(fs::status(box.dir() / "report/index.html").permissions() == fs::perms(0640));
  CHECK_THAT(r.err, Contains("not drawn: loss.svg"));
  CHECK_THAT(r.err, Contains("install gnuplot-nox"));
  CHECK_THAT(r.err, Contains("not drawn: demo-relu.svg"));
  CHECK_THAT(r.err, Contains("install graphviz"));
  const std::string html = slurp(box.dir() / "report/index.html");
  CHECK(count(html, "<img ") == 0);
  CHECK_THAT(html, Contains("Not drawn: the loss of both models while training (loss.svg): "
                            "gnuplot is not on PATH; install gnuplot-nox"));
  CHECK_THAT(html, Contains("Graphviz&#39;s dot is not on PATH; install graphviz"));
  for (const auto& f : references(html)) {
    INFO(f);
    CHECK(fs::is_regular_file(box.dir() / "report" / f));
  }
  for (const char* f : {"demo-relu.json", "demo-relu.dot", "compare.json", "train.json",
                        "monitor.csv", "loss.csv", "layer-gradients.csv", "sweep.json",
                        "sweep-layers.csv", "phase-diagram.csv", "phase-diagram-theory.csv",
                        "spectra.csv", "spectra-sweep.json", "architectures-residual.csv",
                        "architectures-linear-rnn.csv"})
    CHECK(fs::is_regular_file(box.dir() / "report" / f));
  CHECK_FALSE(fs::exists(box.dir() / "report/loss.svg"));
}
