#pragma once
// What the gradscope subcommands share: the network and data options, building the seed network
// and its data from them, the per-layer gradient report, the one table printer and the one JSON
// writer. Each subcommand (demo.cpp, train.cpp, compare.cpp) only adds its own options and flow.
#include <CLI/CLI.hpp>
#include <gradscope/instruments/diagnosis.hpp>
#include <gradscope/writers/graphviz.hpp>
#include <gradscope/models/models.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace gradscope::cli {

// ordered: the document reads configuration first, then results, as written.
using json = nlohmann::ordered_json;

// Network and data options, with each subcommand's defaults (the seed's experiment it runs).
struct NetworkOptions {
  std::string act = "relu";  // hidden activation; the output is always sigmoid
  long depth = 10;
  long width = 2;
  double weight_scale = 0.8;  // the seed's scaled identity w = s·I, output w = [1,...,1]ᵀ
  std::string init;           // instead of the scaled identity: a named initialiser, all layers
  long samples = 10;          // per class
  std::vector<double> mean0{2, 3}, mean1{7, 6};
  std::uint64_t seed = 0;  // data and random initialisers
  std::string data;        // CSV with given points instead of generated ones
};
void add_network_options(CLI::App& cmd, NetworkOptions& o);

// Output files, written by finish() once the command's work succeeded.
struct OutputOptions {
  std::string json;
  std::string dot;               // the annotated graph of the pass, as Graphviz DOT
  std::string svg;               // ... rendered to SVG by Graphviz (needs dot)
  bool collapse = false;         // DOT: one node per layer
  std::string grad_norm = "l2";  // DOT: how a tensor gradient becomes one magnitude
};
void add_output_options(CLI::App& cmd, OutputOptions& o);

// Checks the options (throws Error with one clear sentence) and builds what they describe.
models::Dataset make_data(const NetworkOptions& o);
models::SeedNetworkSpec network_spec(const NetworkOptions& o, Eigen::Index inputs);
json config_json(const NetworkOptions& o, const models::Dataset& data);
// Throws Error unless x is finite and > 0, naming the option.
void require_positive(const char* option, double x);

// One forward and backward pass of the network on all of data with the mean binary cross-entropy.
// The graph stays alive for the exporters; layers holds every layer's nodes.
struct Pass {
  Graph<double> graph;
  models::MlpForward<double> forward;
  Var<double> loss;
};
void run_pass(models::Mlp<double>& net, const models::Dataset& data, Pass& pass);

// One layer's gradients in the seed's orientation and convention: dz of sample 0 multiplied by m
// (the seed's dz = a - y has no 1/m; autodiff of the mean loss gives dz/m), dw (in x out) and db
// (out) as d(mean loss)/dw and /db, which carry the seed's 1/m.
struct LayerReport {
  std::size_t layer;
  std::string activation;
  Eigen::VectorXd dz;
  Eigen::MatrixXd dw;
  Eigen::VectorXd db;
};
std::vector<LayerReport> layer_reports(const Pass& pass, Eigen::Index samples);
// JSON array "layers": layer, activation, dz, dw, db, their norms and ratios to the next layer.
json layers_json(const std::vector<LayerReport>& layers);
// The seed's table, output layer first, with each layer's norm ratio to the next.
void print_layer_table(const std::vector<LayerReport>& layers);

// A matrix as the table shows it: up to 8 entries spelled out ("[a b; c d]"), else "‖·‖ = x".
std::string format_matrix(const Eigen::MatrixXd& m);
json matrix_json(const Eigen::MatrixXd& m);  // array of rows

// The one table printer: columns padded to their widest cell, numbers right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add_row(std::vector<std::string> cells);
  void print() const;  // to stdout

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// The gradient diagnosis of a pass (instruments/diagnosis.hpp): print_diagnosis prints the per-layer
// table (rms, gain to the next layer, trend, mean-field theory, ratio, |dw|/|w|, verdict) and
// the network's verdict under title; diagnosis_json is its JSON, and add_diagnosis puts
// measured_gain, theory_gain, verdict and the whole "diagnosis" into doc.
void print_diagnosis(const Diagnosis& d, const std::string& title);
json diagnosis_json(const Diagnosis& d);
void add_diagnosis(json& doc, const Diagnosis& d);

// Writes every requested output file after the command's work succeeded; nothing is written
// before, so a failed run leaves no file behind (--svg without Graphviz fails before anything is
// written). Monitor results (measured_gain, theory_gain, verdict) go into `doc`
// before this call; the DOT export draws `graph`.
void finish(const OutputOptions& out, const Graph<double>& graph, const json& doc);
// Throws Error unless the output file's directory exists and is writable (nothing to check for an
// empty path); commands call it first, so a long run does not end in an error it could have
// reported at the start. check_output_paths checks every file of OutputOptions.
void check_output_path(const char* option, const std::string& path);
void check_output_paths(const OutputOptions& out);

// Subcommands.
void add_demo(CLI::App& app);
void add_train(CLI::App& app);
void add_compare(CLI::App& app);

}  // namespace gradscope::cli
