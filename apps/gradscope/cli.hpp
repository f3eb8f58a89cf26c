#pragma once
// What the gradscope subcommands share: the network and data options, building the post network
// and its data from them, the per-layer gradient report, the one table printer and the one JSON
// writer. Each subcommand (demo.cpp, train.cpp, compare.cpp) only adds its own options and flow.
#include <CLI/CLI.hpp>
#include <functional>
#include <gradscope/instruments/diagnosis.hpp>
#include <gradscope/instruments/monitor.hpp>
#include <gradscope/models/models.hpp>
#include <gradscope/study/sweep.hpp>
#include <gradscope/writers/graphviz.hpp>
#include <gradscope/writers/output_set.hpp>
#include <gradscope/writers/printable.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace gradscope::cli {

// ordered: the document reads configuration first, then results, as written.
using json = nlohmann::ordered_json;

// Network and data options, with each subcommand's defaults (the post's experiment it runs).
struct NetworkOptions {
  std::string act = "relu";  // hidden activation; the output is always sigmoid
  long depth = 10;
  long width = 2;
  double weight_scale = 0.8;  // the post's scaled identity w = s·I, output w = [1,...,1]ᵀ
  std::string init;           // instead of the scaled identity: a named initialiser, all layers
  long samples = 10;          // per class
  std::vector<double> mean0{2, 3}, mean1{7, 6};
  std::uint64_t seed = 0;     // data and random initialisers
  std::string data;           // CSV with given points instead of generated ones
  std::string arch = "mlp";   // the architectures build_network knows (options.cpp)
  std::string norm = "none";  // none or layer
};
void add_network_options(CLI::App& cmd, NetworkOptions& o);
// --arch and --norm, for the commands that build any architecture (demo, train, sweep).
void add_architecture_options(CLI::App& cmd, std::string& arch, std::string& norm);
struct RecurrentOptions;
// The options of the commands that run one network of any architecture, recurrent cells included
// (demo, train): add_network_options, add_architecture_options, then add_recurrent_options.
void add_any_network_options(CLI::App& cmd, NetworkOptions& net, RecurrentOptions& rec);
// "10 layers x 2 units, relu hidden", and the architecture and normalisation where not the post's.
std::string describe_network(const NetworkOptions& o);

// An integer option read strictly: decimal digits only (a leading '-' for a signed target), the
// whole word, within the target's range; otherwise Error naming the option and the text.
template <class T>
CLI::Option* add_integer_option(CLI::App& cmd, const std::string& name, T& target,
                                const std::string& help);
// A decimal option read strictly (models::parse_decimal: no hexadecimal, '+', spaces or trailing
// text), finite and not lost below the smallest subnormal; otherwise Error naming the option and
// the text. A vector target takes as many numbers as it holds by default (--mean0 2 3).
CLI::Option* add_decimal_option(CLI::App& cmd, const std::string& name, double& target,
                                const std::string& help);
CLI::Option* add_decimal_option(CLI::App& cmd, const std::string& name, std::vector<double>& target,
                                const std::string& help);

// Output files, written by Outputs::finish once the command's work succeeded. "-" is standard
// output for any of them.
struct OutputOptions {
  std::string json;
  std::string dot;        // the annotated graph of the pass, as Graphviz DOT
  std::string svg;        // the graph rendered to SVG by Graphviz (with or without --dot)
  bool collapse = false;  // DOT: one node per layer
  std::string grad_norm;  // DOT: how a tensor gradient becomes one magnitude (empty: l2)
  bool wide = false;      // tables as wide as their content, instead of 100 columns
};
void add_output_options(CLI::App& cmd, OutputOptions& o);
// --wide alone (add_output_options declares it with the others).
void add_wide_option(CLI::App& cmd, bool& wide);

// The report (tables, verdicts) goes to standard output through a stream that survives a reader
// who left (`gradscope demo --json out.json | head -1` still writes out.json); when an output is
// "-", the report moves to standard error. route_report is called once, by main.
void route_report();
void report_to_stderr();

// What the command is building while a Building lives, for the one-line out-of-memory error
// ("out of memory while building the network (--depth 10 --width 2)"); an exception that unwinds
// it leaves it named.
class Building {
 public:
  explicit Building(std::string what);
  ~Building();
  Building(const Building&) = delete;
  Building& operator=(const Building&) = delete;
  static const std::string& current();

 private:
  std::string previous_;
  int exceptions_;
};

// Throws Error "<what>: <part> would need <bytes>, more than the <limit> of memory this process may
// use" if bytes exceed the memory this process may use (the machine's, or less under a ulimit):
// before work whose size the options set.
void require_memory(const std::string& what, const std::string& part, long double bytes);
// The same for a file being read (a ReadProgress callback): "<what>: the <size> read so far would
// need ...", which stops a stream that never ends before it fills memory.
void require_memory(const std::string& what, const models::ReadState& read);

// Throws std::bad_alloc (the out-of-memory error above) unless `bytes` more fit in the memory this
// process may use: before building what cannot run out of memory safely part way, such as a JSON
// document, whose destructor allocates.
void require_room(long double bytes);

// Checks the options (throws Error with one clear sentence) and builds what they describe. Sizes
// are estimated first: what would not fit in this machine's memory is an Error naming the options
// and the size.
models::Dataset make_data(const NetworkOptions& o);
models::PostNetworkSpec network_spec(const NetworkOptions& o, Eigen::Index inputs);
// The network --arch names, built from network_spec after its memory estimate for data's samples.
std::unique_ptr<models::Network<double>> build_network(const NetworkOptions& o,
                                                       const models::Dataset& data);
json config_json(const NetworkOptions& o, const models::Dataset& data);
// Throws Error unless x is finite and > 0, naming the option.
void require_positive(const char* option, double x);

// One forward and backward pass of the network on all of data with the mean binary cross-entropy.
// The graph stays alive for the exporters; layers holds every layer's nodes.
struct Pass {
  Graph<double> graph;
  models::NetworkForward<double> forward;
  Var<double> loss;
};
void run_pass(models::Network<double>& net, const models::Dataset& data, Pass& pass);
// Throws Error unless the pass's loss and every layer's values and gradients are finite, naming
// the first layer and quantity that is not (as `train` refuses a non-finite loss).
void require_finite(const Pass& pass, const char* command);

// One layer's gradients in the post's orientation and convention: dz of sample 0 multiplied by m
// (the post's dz = a - y has no 1/m; autodiff of the mean loss gives dz/m), dw (in x out) and db
// (out) as d(mean loss)/dw and /db, which carry the post's 1/m.
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
// The post's table, output layer first, with each layer's norm ratio to the next.
void print_layer_table(const std::vector<LayerReport>& layers);

// A matrix as the table shows it: up to 8 entries spelled out ("[a b; c d]"), else "‖·‖ = x".
std::string format_matrix(const Eigen::MatrixXd& m);
json matrix_json(const Eigen::MatrixXd& m);  // array of rows

// The one table printer: columns padded to their widest cell, numbers right-aligned. A table
// wider than 100 columns is printed in blocks of columns that fit, each starting with the first
// column, unless set_wide.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add_row(std::vector<std::string> cells);
  void print() const;  // to stdout
  static void set_wide(bool wide);

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// The gradient diagnosis of a pass (instruments/diagnosis.hpp): print_diagnosis prints the
// per-layer table (rms, gain to the next layer, trend, mean-field theory, ratio, |dw|/|w|, verdict)
// and the network's verdict under title; diagnosis_json is its JSON, and add_diagnosis puts
// measured_gain, theory_gain, verdict and the whole "diagnosis" into doc.
void print_diagnosis(const Diagnosis& d, const std::string& title);
json diagnosis_json(const Diagnosis& d);
void add_diagnosis(json& doc, const Diagnosis& d);

// The command's output files as one transaction (writers/output_set.hpp). The constructor checks
// every path (extensions, directories, collisions with --data and among the outputs, including the
// images --dot renders beside it) and that Graphviz is there when --svg asks for it, before any
// work; finish writes them all once the work succeeded, or none. Commands add their own files
// (train's plot) to files() before their work too.
class Outputs {
 public:
  Outputs(const OutputOptions& out, const NetworkOptions& net);
  OutputSet& files() { return files_; }
  // The content of an output added to files(); finish names it among the files written.
  void set(const std::string& path, std::string content);
  // Fills in the JSON document and the graph's DOT (and its images), commits, and prints which
  // files were written.
  void finish(const Graph<double>& graph, const json& doc);
  // The same for a command that records no graph (sweep, merge): it offers no --dot or --svg.
  void finish(const json& doc);

 private:
  OutputOptions out_;
  OutputSet files_;
  std::vector<std::string> beside_;   // images rendered beside --dot
  std::vector<std::string> written_;  // as "wrote ..." names them
  bool graphviz_ = false;
  void commit();  // writes the files set, and says which
};

// Whether --arch names a recurrent cell (rnn, lstm), which demo and train run through
// apps/gradscope/recurrent.cpp instead of build_network.
bool is_recurrent(const NetworkOptions& o);
// The recurrent architectures' options (apps/gradscope/recurrent.cpp). rnn and lstm
// train on the adding problem of --steps T with --samples sequences; their --act defaults to tanh
// and --width to 64 unless given.
struct RecurrentOptions {
  long steps = 50;
  std::string rec_init = "orthogonal";
  double rec_scale = 1;
  // The --width and --act options, to see if given; null (options set in code, as the report
  // does): net's width and act are read as they are.
  const CLI::Option* width_given = nullptr;
  const CLI::Option* act_given = nullptr;
};
void add_recurrent_options(CLI::App& cmd, RecurrentOptions& o);  // after add_network_options
// --rec-init and --rec-scale alone (add_recurrent_options declares them with --steps).
void add_recurrent_weight_options(CLI::App& cmd, std::string& rec_init, double& rec_scale);
void run_recurrent_demo(const NetworkOptions& net, const RecurrentOptions& o,
                        const OutputOptions& out);
void run_recurrent_train(const NetworkOptions& net, const RecurrentOptions& o,
                         const OutputOptions& out, const models::SequenceTrainOptions& t);

// Subcommands: add_* declares one on the command line, run_* runs it (gradscope report runs
// them in turn, with their outputs in its directory).
struct DemoOptions {
  NetworkOptions net;
  RecurrentOptions rec;
  OutputOptions out;
};
void add_demo(CLI::App& app);
void run_demo(const DemoOptions& o);

struct TrainCmdOptions {
  NetworkOptions net;
  RecurrentOptions rec;
  OutputOptions out;
  long iters = 50000;
  double lr = 0.01;
  std::string optimizer = "sgd";
  long history_every = 100;
  std::string plot;  // decision surfaces after training, rendered by gnuplot (.svg or .png)
  GradientMonitor<double>* monitor = nullptr;  // watches the network's training passes
  const CLI::Option* iters_given = nullptr;    // --arch rnn|lstm: 2000 steps unless given
};
// The post's third experiment: w = 1.1·I, 1000 points per class around (2,3) and (17,10).
TrainCmdOptions train_defaults();
void add_train(CLI::App& app);
void run_train(const TrainCmdOptions& o);

struct CompareOptions {
  CompareOptions() { net.act.clear(); }  // per derivation: relu for post-relu, sigmoid otherwise
  NetworkOptions net;
  OutputOptions out;
  std::string derivation = "all";
  double rtol = 1e-6;
  double fd_step = 1e-6;
};
void add_compare(CLI::App& app);
void run_compare(const CompareOptions& o);

struct SweepOptions {
  study::Grid grid;
  // As given on the command line: --acts (rnn and lstm read tanh unless given), and the options
  // only the layer stacks (mlp, residual) or only the recurrent cells read, refused for the other.
  const CLI::Option* acts_given = nullptr;
  std::vector<const CLI::Option*> layer_only, recurrent_only;
  long threads = long(study::available_cores());
  std::string shard = "1/1";
  OutputOptions out;
  std::string csv;
};
void add_sweep(CLI::App& app);  // sweep and merge
void run_sweep(const SweepOptions& o);

void add_report(CLI::App& app);

// The JSON document in the file at path; Error "command: " and what read_text_file says, or
// "command: path is not JSON (...)".
json read_json(const std::string& path, const char* command);

// Runs work with everything it prints to the report stream (stdout) collected and returned
// instead of printed; the stream is restored even when work throws.
std::string capture_report(const std::function<void()>& work);

}  // namespace gradscope::cli
