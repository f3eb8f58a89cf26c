#include "gradscope/instruments/monitor.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "gradscope/instruments/theory.hpp"

namespace gradscope {

// --- loggers ---------------------------------------------------------------------------------------

std::shared_ptr<spdlog::logger> console_logger(const std::string& name) {
  return std::make_shared<spdlog::logger>(name,
                                          std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
}

std::shared_ptr<spdlog::logger> file_logger(const std::string& path, const std::string& name) {
  try {
    return std::make_shared<spdlog::logger>(
        name, std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, true));
  } catch (const spdlog::spdlog_ex& e) {
    fail("cannot open log file '{}': {}", path, e.what());
  }
}

// --- the monitor -----------------------------------------------------------------------------------

namespace {

bool is_alarm(Verdict v) {
  return v == Verdict::Vanishing || v == Verdict::Exploding || v == Verdict::NonFinite;
}

// Whether consumer c's backward gives its input of shape `in` exactly c's gradient, negated or
// transposed: the same magnitudes.
template <class T>
bool passes_gradient(const NodeView<T>& c, Shape in) {
  switch (c.op()) {
    case Op::Add:
    case Op::Sub:
    case Op::Neg: return c.shape() == in;
    case Op::Transpose: return c.shape() == Shape{in.cols, in.rows};
    default: return false;
  }
}

}  // namespace

template <class T>
GradientMonitor<T>::GradientMonitor(MonitorOptions options)
    : options_(std::move(options)),
      log_(options_.logger ? options_.logger : spdlog::default_logger()),
      every_(options_.history_every) {
  if (every_ == 0) fail("GradientMonitor: history_every must be at least 1");
  if (options_.history_capacity < 2 || options_.history_capacity % 2)
    fail("GradientMonitor: history_capacity must be even and at least 2, got {}",
         options_.history_capacity);
  const auto& th = options_.thresholds;
  if (!(th.vanishing_gain > 0 && th.vanishing_gain <= th.exploding_gain &&
        th.vanishing_total > 0 && th.vanishing_total <= th.exploding_total &&
        th.hysteresis >= 0 && th.window >= 0))
    fail("GradientMonitor: thresholds need 0 < vanishing <= exploding (gain {} / {}, total {} / {}), "
         "hysteresis >= 0 ({}) and window >= 0 ({})",
         th.vanishing_gain, th.exploding_gain, th.vanishing_total, th.exploding_total,
         th.hysteresis, th.window);
}

template <class T>
void GradientMonitor<T>::on_backward_begin(const Graph<T>& g) {
  // Map the graph's scope ids to the monitor's own, by path: steady state only compares strings.
  const auto n_scopes = std::uint32_t(g.scope_count());
  scope_of_graph_scope_.resize(n_scopes);
  for (std::uint32_t id = 0; id < n_scopes; ++id) {
    const std::string_view path = g.scope_path(id);
    auto& mine = scope_of_graph_scope_[id];
    if (mine < scope_names_.size() && scope_names_[mine] == path) continue;
    const auto it = std::find(scope_names_.begin(), scope_names_.end(), path);
    mine = std::uint32_t(it - scope_names_.begin());
    if (it == scope_names_.end()) scope_names_.emplace_back(path);
  }
  scope_sums_.assign(scope_names_.size(), GradSums{});
  scope_first_use_.clear();
  nodes_used_ = 0;
  const auto n = std::uint32_t(g.size());
  sums_.assign(n, GradSums{});
  record_of_.assign(n, kNoNode);
  // Which gradients are copies of a consumer's (see Cost in monitor.hpp), and which nodes are the
  // activations of units whose theory is taken (one with a unit above it that has_mean_field): from
  // the structure, so only when it changed.
  const bool found = finder_.find(g);  // also every node's scope and local name, for on_node
  slope_squared_.assign(finder_.units().size(), kNoValue);
  if (!found && copies_hooked_ == g.has_hooks()) return;
  copies_hooked_ = g.has_hooks();
  unit_of_activation_.assign(n, kNoNode);
  const auto& units = finder_.units();
  for (std::uint32_t u = 0; u + 1 < units.size(); ++u)
    if (has_mean_field(units[u + 1])) unit_of_activation_[units[u].a] = u;
  same_grad_as_.assign(n, kNoNode);
  if (copies_hooked_) return;
  const auto& consumers = finder_.consumers();
  for (std::uint32_t i = 0; i < n; ++i) {
    if (consumers[i] != 1) continue;
    const NodeView<T> c(g, finder_.last_consumer()[i]);
    if (passes_gradient(c, g.node(i).shape())) same_grad_as_[i] = c.index();
  }
}

template <class T>
void GradientMonitor<T>::on_node(const NodeView<T>& node) {
  const std::uint32_t i = node.index();
  GradSums& sums = sums_[i];
  const std::uint32_t same = same_grad_as_[i];
  if (same != kNoNode && sums_[same].elements != 0) {  // the consumer was reached: measured
    sums = sums_[same];
  } else {
    const auto grad = node.grad();
    sums.add(grad.data(), std::size_t(grad.size()));
  }
  if (const std::uint32_t unit = unit_of_activation_[i]; unit != kNoNode)
    slope_squared_[unit] = mean_slope_squared(node.graph(), finder_.units()[unit]);

  if (nodes_used_ == nodes_.size()) {
    nodes_.emplace_back();
    name_keys_.emplace_back();
  }
  NameKey& key = name_keys_[nodes_used_];
  NodeRecord& r = nodes_[nodes_used_++];
  const NodeLabel& label = finder_.labels()[i];
  const std::uint32_t scope = scope_index(label.scope);
  const std::string_view local = label.local;
  // The name follows from the node's index, op, scope path and local name: rebuild it only if one
  // of them changed (the scope index stands for its path, see on_backward_begin).
  if (r.node != i || r.scope != scope || key.op != node.op() || key.local != local) {
    node.name_into(r.name);
    key.op = node.op();
    key.local.assign(local);
  }
  r.node = i;
  r.op = node.op_name();
  r.shape = node.shape();
  r.scope = scope;
  r.stats = sums.stats();
  record_of_[i] = std::uint32_t(nodes_used_ - 1);

  auto& scope_sums = scope_sums_[scope];
  if (scope_sums.elements == 0) scope_first_use_.push_back(scope);
  scope_sums.merge(sums);

  if (log_->should_log(spdlog::level::debug))  // not even the call, per node, when it would not log
    log_->debug(
        "{:<20} {:<8} {:>4}x{:<5} l2 {:.4e}  rms {:.4e}  max {:.4e}  mean {:.4e}  zeros {:5.1f}%"
        "  nonfinite {}",
        r.name, r.op, r.shape.rows, r.shape.cols, r.stats.l2, r.stats.rms, r.stats.max_abs,
        r.stats.mean_abs, 100 * r.stats.zero_share, r.stats.nonfinite);
}

template <class T>
void GradientMonitor<T>::finish_records() {
  nodes_.resize(nodes_used_);
  name_keys_.resize(nodes_used_);
  scopes_.resize(scope_first_use_.size());
  for (std::size_t k = 0; k < scopes_.size(); ++k)
    scopes_[k] = {scope_first_use_[k], scope_sums_[scope_first_use_[k]].stats()};
}

template <class T>
void GradientMonitor<T>::on_backward_abort(const Graph<T>&) {
  finish_records();
  diagnosis_.layers.clear();
  diagnosis_.parameters.clear();
  diagnosis_.measured_gain = diagnosis_.theory_gain = diagnosis_.total_gain = kNoValue;
  diagnosis_.verdict = Verdict::Unknown;
  diagnosis_.note = "the backward pass was stopped by an error";
  log_->warn("backward {}: stopped by an error after {} nodes, the last '{}'", passes_ + 1,
             nodes_.size(),
             nodes_.empty() ? std::string_view("-") : std::string_view(nodes_.back().name));
}

template <class T>
void GradientMonitor<T>::on_backward_end(const Graph<T>& g) {
  finish_records();
  ++passes_;
  diagnose(g, options_.thresholds, diagnosis_, PassFigures{&sums_, &finder_, &slope_squared_});
  if (passes_ % every_ == 0) record_history();
  log_pass();
}

template <class T>
void GradientMonitor<T>::record_history() {
  if (history_.empty()) {
    first_recorded_ = passes_;
    // The history's whole storage at its first entry, capacity entries of this pass's units: no
    // later pass allocates, and fresh memory's page faults are taken here once instead of on each
    // of the first `capacity` recorded passes.
    history_.reserve(options_.history_capacity);
    spare_.reserve(options_.history_capacity);
    spare_.resize(options_.history_capacity);
    for (auto& e : spare_) e.units.resize(diagnosis_.layers.size());
  }
  if (history_.size() == options_.history_capacity) {
    // Keep the first entry and those on multiples of 2k (every other one), and double k; the
    // dropped entries' storage is recycled, so a full history allocates nothing.
    every_ *= 2;
    auto keep = std::stable_partition(history_.begin(), history_.end(), [&](const HistoryEntry& e) {
      return e.pass % every_ == 0 || e.pass == first_recorded_;
    });
    std::move(keep, history_.end(), std::back_inserter(spare_));
    history_.erase(keep, history_.end());
    if (passes_ % every_ != 0) return;
  }
  if (spare_.empty()) {
    history_.emplace_back();
  } else {
    history_.push_back(std::move(spare_.back()));
    spare_.pop_back();
  }
  HistoryEntry& e = history_.back();
  const Diagnosis& d = diagnosis_;
  e.pass = passes_;
  e.measured_gain = d.measured_gain;
  e.theory_gain = d.theory_gain;
  e.total_gain = d.total_gain;
  e.verdict = d.verdict;
  e.units.resize(d.layers.size());
  for (std::size_t k = 0; k < d.layers.size(); ++k) {
    const LayerDiagnosis& ld = d.layers[k];
    UnitHistory& u = e.units[k];
    u.scope = scope_index(finder_.units()[k].scope);
    const std::uint32_t nodes[4] = {ld.z_node, ld.a_node, ld.w_node, ld.b_node};
    for (int kind = 0; kind < 4; ++kind)
      u.kind[std::size_t(kind)] = nodes[kind] == kNoNode || record_of_[nodes[kind]] == kNoNode
                                      ? GradStats{}
                                      : nodes_[record_of_[nodes[kind]]].stats;
    u.gain = ld.gain;
    u.theory_gain = ld.theory_gain;
    u.verdict = ld.verdict;
  }
}

template <class T>
void GradientMonitor<T>::log_pass() {
  const std::uint64_t k = options_.summary_every;
  if ((passes_ == 1 || (k != 0 && passes_ % k == 0)) && log_->should_log(spdlog::level::info)) {
    // The root's gradient is the root gradient the pass started from: not a finding.
    const NodeRecord* largest = nullptr;
    std::uint64_t nonfinite = 0;
    for (std::size_t j = 1; j < nodes_.size(); ++j) {
      const auto& r = nodes_[j];
      nonfinite += r.stats.nonfinite;
      if (!largest || r.stats.rms > largest->stats.rms) largest = &r;
    }
    log_->info("backward {}: {} nodes, largest rms below the root {:.4e} at '{}', {} non-finite; {}",
               passes_, nodes_.size(), largest ? largest->stats.rms : 0.0,
               largest ? std::string_view(largest->name) : std::string_view("-"), nonfinite,
               format_summary(diagnosis_));
  }
  // Warnings on changes only: a unit that stays vanishing for 50,000 iterations warns once.
  const auto& layers = diagnosis_.layers;
  layer_verdicts_.resize(layers.size(), Verdict::Unknown);
  for (std::size_t j = 0; j + 1 < layers.size(); ++j) {
    const auto& ld = layers[j];
    const Verdict before = layer_verdicts_[j];
    if (ld.verdict == before) continue;
    layer_verdicts_[j] = ld.verdict;
    if (is_alarm(ld.verdict))
      log_->warn("{}: gradient {} (trend {:.4g} per layer around unit {}, rms(dz) {:.3e})", ld.scope,
                 to_string(ld.verdict), ld.trend, ld.layer, ld.grad_rms);
    else if (is_alarm(before))
      log_->info("{}: gradient {} again (trend {:.4g})", ld.scope, to_string(ld.verdict), ld.trend);
  }
  if (diagnosis_.verdict != network_verdict_) {
    const Verdict before = network_verdict_;
    network_verdict_ = diagnosis_.verdict;
    if (is_alarm(network_verdict_))
      log_->warn("network: {}", format_summary(diagnosis_));
    else if (is_alarm(before))
      log_->info("network: {}", format_summary(diagnosis_));
  }
}

template <class T>
std::size_t GradientMonitor<T>::memory_bytes() const {
  auto string_bytes = [](const std::string& s) {
    return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;  // beyond SSO
  };
  auto entries_bytes = [](const std::vector<HistoryEntry>& v) {
    std::size_t b = v.capacity() * sizeof(HistoryEntry);
    for (const auto& e : v) b += e.units.capacity() * sizeof(UnitHistory);
    return b;
  };
  std::size_t b = entries_bytes(history_) + entries_bytes(spare_);
  b += nodes_.capacity() * sizeof(NodeRecord) + name_keys_.capacity() * sizeof(NameKey) +
       sums_.capacity() * sizeof(GradSums) +
       (same_grad_as_.capacity() + unit_of_activation_.capacity() + record_of_.capacity()) *
           sizeof(std::uint32_t) +
       slope_squared_.capacity() * sizeof(double) +
       finder_.memory_bytes();
  for (const auto& r : nodes_) b += string_bytes(r.name);
  for (const auto& k : name_keys_) b += string_bytes(k.local);
  b += scope_names_.capacity() * sizeof(std::string);
  for (const auto& s : scope_names_) b += string_bytes(s);
  b += scope_of_graph_scope_.capacity() * sizeof(std::uint32_t) +
       scope_first_use_.capacity() * sizeof(std::uint32_t) +
       scope_sums_.capacity() * sizeof(GradSums) + scopes_.capacity() * sizeof(ScopeRecord) +
       layer_verdicts_.capacity() * sizeof(Verdict);
  b += diagnosis_.layers.capacity() * sizeof(LayerDiagnosis) +
       diagnosis_.parameters.capacity() * sizeof(ParameterRatio);
  for (const auto& l : diagnosis_.layers) b += string_bytes(l.scope);
  for (const auto& p : diagnosis_.parameters) b += string_bytes(p.name);
  return b;
}

template class GradientMonitor<double>;
template class GradientMonitor<float>;

}  // namespace gradscope
