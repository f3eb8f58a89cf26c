#pragma once
// GradientMonitor: an Observer that measures every node's gradient on every backward pass,
// aggregates per scope, diagnoses the network's units (instruments/diagnosis.hpp), keeps a
// bounded history per unit and kind of gradient, and logs through spdlog.
//
//   Graph<double> g;
//   GradientMonitor<double> monitor;          // logs to spdlog's default logger
//   g.add_observer(monitor);
//   ... record, g.backward(loss) ...          // the monitor sees every node
//   fmt::print("{}", format_table(monitor.diagnosis()));
//   monitor.write_json("gradients.json");
//
// Logging: quiet by default. info, one summary on the first pass and every summary_every-th;
// warn when the network's or a unit's verdict becomes vanishing, exploding or non_finite (once per
// change, not every pass), and info when it recovers; debug, one line per node.
//
// History: every k-th backward pass (MonitorOptions::history_every) appends one entry holding, per
// unit, the statistics of dL/dz, dL/da, dL/dW and dL/db with the unit's gain, theory and verdict,
// and the network's figures. When history_capacity entries are held, every other entry is dropped
// (the first is always kept) and k doubles, so the history spans the whole run at a resolution that
// halves each time it fills: memory stays bounded however long training runs. The whole of it,
// history_capacity entries of the network's units (about 260 bytes per unit and entry), is taken
// at the first recorded pass, so that later passes allocate nothing.
//
// Cost: one statistics sweep per node, except where a node's gradient is by the graph's structure a
// copy of one already measured (its only consumer is an add, sub or neg of its shape or its
// transpose, and the graph has no hooks that could change it): then the consumer's figures are
// taken, every figure being a magnitude. The theory's E[φ′(z)²] is taken when backward reaches the
// unit's activation, just before backward reads the same pre-activations. The units and the copies
// follow from the graph's structure and are found again only when it changes (LayerFinder). Once a
// training loop records the same graph every iteration, a pass allocates nothing in the monitor. A
// monitor watches one graph at a time; it can be moved to another between passes.
#include <spdlog/logger.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/autodiff/graph.hpp"
#include "gradscope/instruments/diagnosis.hpp"
#include "gradscope/instruments/grad_stats.hpp"

namespace gradscope {

struct MonitorOptions {
  std::shared_ptr<spdlog::logger> logger;  // null: spdlog::default_logger()
  std::uint64_t history_every = 1;         // k: record every k-th backward pass
  std::size_t history_capacity = 1024;     // entries; even, >= 2
  std::uint64_t summary_every = 1000;      // info summary every this many passes (0: first only)
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

// The kinds of gradient the history keeps per unit.
enum class GradKind : std::uint8_t { Z, A, W, B };  // dL/dz, dL/da, dL/dW, dL/db
inline constexpr std::array<std::string_view, 4> kGradKindNames{"dz", "da", "dW", "db"};

struct UnitHistory {
  std::uint32_t scope;            // index into GradientMonitor::scope_names()
  std::array<GradStats, 4> kind;  // by GradKind; elements 0 where the unit has no such node
  double gain = kNoValue, theory_gain = kNoValue;
  Verdict verdict = Verdict::Unknown;
};

struct HistoryEntry {
  std::uint64_t pass = 0;  // 1-based count of backward passes seen by the monitor
  double measured_gain = kNoValue, theory_gain = kNoValue, total_gain = kNoValue;
  Verdict verdict = Verdict::Unknown;
  std::vector<UnitHistory> units;  // unit 1 first
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
  std::size_t history_capacity() const { return options_.history_capacity; }
  // Heap bytes held by the monitor (history, last pass, names): the figure that must stay flat.
  std::size_t memory_bytes() const;

  // Writers (writers/monitor_files.cpp): each writes a temporary file beside path and renames it,
  // so a reader never sees half a file; failures throw Error.
  // CSV: per recorded pass one row per unit and kind of gradient (pass, unit, kind, statistics;
  // gain, theory_gain and verdict on the dz row), and a row "network" with the network's figures.
  void write_csv(const std::string& path) const;
  // JSON: the last pass (nodes, scopes, diagnosis) and the history.
  void write_json(const std::string& path) const;

 private:
  void finish_records();
  void record_history();
  void log_pass();
  std::uint32_t scope_index(std::uint32_t graph_scope) const { return scope_of_graph_scope_[graph_scope]; }

  MonitorOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::uint64_t passes_ = 0;
  std::uint64_t every_;
  std::uint64_t first_recorded_ = 0;  // the pass of the history's first entry, kept when thinning

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
  std::size_t nodes_used_ = 0;
  std::vector<GradSums> sums_;         // this pass's statistics by node index
  std::vector<std::uint32_t> record_of_;  // by node index: its record in nodes_, or kNoNode
  // By node: the consumer whose gradient this node's equals up to sign or transposition (see Cost
  // above), or kNoNode.
  std::vector<std::uint32_t> same_grad_as_;
  bool copies_hooked_ = false;  // whether same_grad_as_ was found for a graph with hooks
  LayerFinder finder_;
  std::vector<std::uint32_t> unit_of_activation_;  // by node: the unit whose activation it is, if
                                                   // its theory is taken (on_backward_begin)
  std::vector<double> slope_squared_;              // this pass's E[φ′(z)²] by unit, NaN if not taken
  std::vector<ScopeRecord> scopes_;
  Diagnosis diagnosis_;
  std::vector<Verdict> layer_verdicts_;  // as last logged, to warn on changes only
  Verdict network_verdict_ = Verdict::Unknown;

  std::vector<HistoryEntry> history_;
  std::vector<HistoryEntry> spare_;  // entries dropped by thinning, reused by the next ones
};

extern template class GradientMonitor<double>;
extern template class GradientMonitor<float>;

}  // namespace gradscope
