#pragma once
// GradientMonitor: an Observer that measures every node's gradient on every backward pass,
// aggregates per scope (= per layer), diagnoses the layer stack, keeps a bounded history and logs
// through spdlog.
//
//   Graph<double> g;
//   GradientMonitor<double> monitor;          // logs to spdlog's default logger
//   g.add_observer(monitor);
//   ... record, g.backward(loss) ...          // the monitor sees every node
//   fmt::print("{}", format_table(monitor.diagnosis()));
//   monitor.write_json("gradients.json");
//
// Logging: debug, one line per node; info, one summary per backward; warn when the network's or a
// layer's verdict becomes vanishing, exploding or non_finite (once per change, not every pass), and
// info when it recovers. Nothing is logged inside element loops.
//
// History: every k-th backward pass (MonitorOptions::history_every) appends one entry holding each
// scope's statistics and the network's gain. When history_capacity entries are held, every other
// entry is dropped and k doubles, so the history always spans the whole run, at a resolution that
// halves each time it fills: memory stays bounded however long training runs.
//
// Steady state: once a training loop records the same graph every iteration, a backward pass
// allocates nothing in the monitor and builds no strings (a node's name is rebuilt only when the
// node at its place changed). A monitor watches one graph at a time; it can be moved to another
// graph between passes.
#include <spdlog/logger.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/instruments/diagnosis.hpp"
#include "gradscope/instruments/grad_stats.hpp"
#include "gradscope/autodiff/graph.hpp"

namespace gradscope {

struct MonitorOptions {
  std::shared_ptr<spdlog::logger> logger;  // null: spdlog::default_logger()
  std::uint64_t history_every = 1;         // k: record every k-th backward pass
  std::size_t history_capacity = 1024;     // entries; even, >= 2
  // Predicted gains every k-th pass (0: never). Per layer they cost one sweep over w·dz and z, w·dz
  // being the engine's own gradient where the layers are plain products (see diagnosis.hpp), else a
  // product computed for the purpose; the measured gain, the statistics and the verdicts come
  // every pass regardless.
  std::uint64_t predict_every = 1;
  DiagnosisThresholds thresholds;
};

// Loggers for MonitorOptions::logger that are not registered with spdlog (no name clashes).
std::shared_ptr<spdlog::logger> console_logger(const std::string& name = "gradscope");  // stderr
std::shared_ptr<spdlog::logger> file_logger(const std::string& path,
                                            const std::string& name = "gradscope");  // truncates

struct NodeRecord {
  std::string name;     // "layer3/z"
  std::string_view op;  // the op's name, static storage
  Shape shape;
  std::uint32_t node = kNoNode;  // index in the graph
  std::uint32_t scope = 0;       // index into GradientMonitor::scope_names()
  GradStats stats;
};

struct ScopeRecord {
  std::uint32_t scope;  // index into GradientMonitor::scope_names()
  GradStats stats;
};

struct HistoryEntry {
  std::uint64_t pass = 0;  // 1-based count of backward passes seen by the monitor
  double measured_gain = kNoValue;
  Verdict verdict = Verdict::Unknown;
  std::vector<ScopeRecord> scopes;
};

template <class T>
class GradientMonitor : public Observer<T> {
 public:
  explicit GradientMonitor(MonitorOptions options = {});

  void on_backward_begin(const Graph<T>& g) override;
  void on_node(const NodeView<T>& node) override;
  void on_backward_end(const Graph<T>& g) override;
  // A pass stopped by an Error: nodes() and scopes() hold the nodes it reached before (with an
  // anomaly in a node's backward, that node last), diagnosis() is empty, and neither the history
  // nor passes() counts the pass; logs a warning.
  void on_backward_abort(const Graph<T>& g) override;

  // --- the last backward pass -------------------------------------------------------------------
  std::uint64_t passes() const { return passes_; }                 // complete ones
  const std::vector<NodeRecord>& nodes() const { return nodes_; }  // in backward order
  const std::vector<ScopeRecord>& scopes() const { return scopes_; }  // reached scopes, by first use
  const Diagnosis& diagnosis() const { return diagnosis_; }
  // Scope paths by index ("" is the top level); indices are stable for the monitor's lifetime.
  const std::vector<std::string>& scope_names() const { return scope_names_; }

  // --- across passes ----------------------------------------------------------------------------
  const std::vector<HistoryEntry>& history() const { return history_; }  // oldest first
  std::uint64_t history_every() const { return every_; }  // current k (doubles as history fills)
  // Heap bytes held by the monitor (history, last pass, names): the figure that must stay flat.
  std::size_t memory_bytes() const;

  // One row per (history entry, scope): pass,scope,elements,l2,rms,max_abs,mean_abs,zero_share,
  // nonfinite,measured_gain,verdict.
  void write_csv(const std::string& path) const;
  // The last pass (nodes, scopes, diagnosis) and the history. Both writers write a temporary
  // file beside path and rename it, so a reader never sees half a file; failures throw Error.
  void write_json(const std::string& path) const;

 private:
  void finish_records();
  void record_history();
  void log_pass();

  MonitorOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::uint64_t passes_ = 0;
  std::uint64_t every_;

  std::vector<std::string> scope_names_;
  std::vector<std::uint32_t> scope_of_graph_scope_;  // graph scope id -> index in scope_names_
  std::vector<GradSums> scope_sums_;                 // this pass, by index in scope_names_
  std::vector<std::uint32_t> scope_first_use_;       // scopes reached this pass, in order
  std::vector<NodeRecord> nodes_;
  // Per record, the op and local name its name was built from: rebuilt when they change only.
  struct NameKey {
    Op op;
    std::string local;
  };
  std::vector<NameKey> name_keys_;
  std::vector<typename Graph<T>::Label> labels_;  // this pass's graph's, by node index
  std::size_t nodes_used_ = 0;
  PassSums sums_;            // this pass's measurements by node index, handed to diagnose()
  bool predicting_ = false;  // this pass computes predicted gains
  std::vector<ScopeRecord> scopes_;
  Diagnosis diagnosis_;
  std::vector<Verdict> layer_verdicts_;  // as last logged, to warn on changes only
  Verdict network_verdict_ = Verdict::Unknown;

  std::vector<HistoryEntry> history_;
  std::vector<HistoryEntry> spare_;  // entries dropped by decimation, reused by the next ones
};

extern template class GradientMonitor<double>;
extern template class GradientMonitor<float>;

}  // namespace gradscope
