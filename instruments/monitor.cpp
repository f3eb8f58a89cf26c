#include "gradscope/instruments/monitor.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>

#include "gradscope/writers/atomic_file.hpp"
#include "gradscope/writers/diagnosis_json.hpp"

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
        th.vanishing_total > 0 && th.vanishing_total <= th.exploding_total))
    fail("GradientMonitor: thresholds need 0 < vanishing <= exploding (gain {} / {}, total {} / {})",
         th.vanishing_gain, th.exploding_gain, th.vanishing_total, th.exploding_total);
}

template <class T>
void GradientMonitor<T>::on_backward_begin(const Graph<T>& g) {
  // Map the graph's scope ids to the monitor's own, by path: steady state only compares strings.
  const auto n = std::uint32_t(g.scope_count());
  scope_of_graph_scope_.resize(n);
  for (std::uint32_t id = 0; id < n; ++id) {
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
  sums_.grads.assign(g.size(), GradSums{});
  g.labels_into(labels_);
  sums_.carried.assign(g.size(), kNoValue);
  const auto k = options_.predict_every;
  predicting_ = k != 0 && (passes_ + 1) % k == 0;
}

template <class T>
void GradientMonitor<T>::on_node(const NodeView<T>& node) {
  const std::uint32_t i = node.index();
  GradSums& sums = sums_.grads[i];
  const auto grad = node.grad();
  sums.add(grad.data(), std::size_t(grad.size()));

  if (nodes_used_ == nodes_.size()) {
    nodes_.emplace_back();
    name_keys_.emplace_back();
  }
  NameKey& key = name_keys_[nodes_used_];
  NodeRecord& r = nodes_[nodes_used_++];
  const auto& label = labels_[i];
  const std::uint32_t scope_index = scope_of_graph_scope_[label.scope];
  // The name follows from the node's index, op, scope path and local name: rebuild it only if one
  // of them changed (the scope index stands for its path, see on_backward_begin).
  if (r.node != i || r.scope != scope_index || key.op != node.op() || key.local != label.local) {
    node.name_into(r.name);
    key.op = node.op();
    key.local.assign(label.local);
  }
  r.node = node.index();
  r.op = node.op_name();
  r.shape = node.shape();
  r.scope = scope_index;
  r.stats = sums.stats();

  auto& scope = scope_sums_[r.scope];
  if (scope.elements == 0) scope_first_use_.push_back(r.scope);
  scope.merge(sums);

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
  diagnosis_.measured_gain = diagnosis_.predicted_gain = diagnosis_.total_gain = kNoValue;
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
  diagnose(g, options_.thresholds, diagnosis_, predicting_, &sums_);
  if (passes_ % every_ == 0) record_history();
  log_pass();
}

template <class T>
void GradientMonitor<T>::record_history() {
  if (history_.size() == options_.history_capacity) {
    // Keep the entries on multiples of 2k (every other one) and double k; the dropped entries'
    // storage is recycled, so a full history allocates nothing.
    every_ *= 2;
    auto keep = std::stable_partition(history_.begin(), history_.end(),
                                      [&](const HistoryEntry& e) { return e.pass % every_ == 0; });
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
  e.pass = passes_;
  e.measured_gain = diagnosis_.measured_gain;
  e.verdict = diagnosis_.verdict;
  e.scopes.assign(scopes_.begin(), scopes_.end());
}

template <class T>
void GradientMonitor<T>::log_pass() {
  if (log_->should_log(spdlog::level::info)) {
    const NodeRecord* largest = nullptr;
    std::uint64_t nonfinite = 0;
    for (const auto& r : nodes_) {
      nonfinite += r.stats.nonfinite;
      if (!largest || r.stats.rms > largest->stats.rms) largest = &r;
    }
    log_->info("backward {}: {} nodes in {} scopes, largest rms {:.4e} at '{}', {} non-finite; {}",
               passes_, nodes_.size(), scopes_.size(), largest ? largest->stats.rms : 0.0,
               largest ? std::string_view(largest->name) : std::string_view("-"), nonfinite,
               format_summary(diagnosis_));
  }
  // Warnings on changes only: a layer that stays vanishing for 50,000 iterations warns once.
  const auto& layers = diagnosis_.layers;
  layer_verdicts_.resize(layers.size(), Verdict::Unknown);
  for (std::size_t k = 0; k + 1 < layers.size(); ++k) {
    const auto& ld = layers[k];
    const Verdict before = layer_verdicts_[k];
    if (ld.verdict == before) continue;
    layer_verdicts_[k] = ld.verdict;
    if (is_alarm(ld.verdict))
      log_->warn("{}: gradient {} (gain {:.4g} from layer{}, rms(dz) {:.3e})", ld.scope,
                 to_string(ld.verdict), ld.gain, ld.layer + 1, ld.grad_rms);
    else if (is_alarm(before))
      log_->info("{}: gradient {} again (gain {:.4g})", ld.scope, to_string(ld.verdict), ld.gain);
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
    for (const auto& e : v) b += e.scopes.capacity() * sizeof(ScopeRecord);
    return b;
  };
  std::size_t b = entries_bytes(history_) + entries_bytes(spare_);
  b += nodes_.capacity() * sizeof(NodeRecord) + name_keys_.capacity() * sizeof(NameKey) +
       labels_.capacity() * sizeof(labels_[0]) + sums_.grads.capacity() * sizeof(GradSums) +
       sums_.carried.capacity() * sizeof(double);
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

// --- writers ---------------------------------------------------------------------------------------

namespace {

nlohmann::json stats_json(const GradStats& s) {
  return {{"elements", s.elements}, {"l2", s.l2},         {"rms", s.rms},
          {"max_abs", s.max_abs},   {"mean_abs", s.mean_abs}, {"zero_share", s.zero_share},
          {"nonfinite", s.nonfinite}};
}

}  // namespace

template <class T>
void GradientMonitor<T>::write_csv(const std::string& path) const {
  std::string out =
      "pass,scope,elements,l2,rms,max_abs,mean_abs,zero_share,nonfinite,measured_gain,verdict\n";
  for (const auto& e : history_)
    for (const auto& s : e.scopes)
      fmt::format_to(std::back_inserter(out), "{},{},{},{:.17g},{:.17g},{:.17g},{:.17g},{:.17g},{},{:.17g},{}\n",
                     e.pass, scope_names_[s.scope], s.stats.elements, s.stats.l2, s.stats.rms,
                     s.stats.max_abs, s.stats.mean_abs, s.stats.zero_share, s.stats.nonfinite,
                     e.measured_gain, to_string(e.verdict));
  write_file_atomically(path, out);
}

template <class T>
void GradientMonitor<T>::write_json(const std::string& path) const {
  nlohmann::json nodes = nlohmann::json::array(), scopes = nlohmann::json::array(),
                 history = nlohmann::json::array();
  for (const auto& r : nodes_) {
    auto j = stats_json(r.stats);
    j["name"] = r.name;
    j["op"] = r.op;
    j["shape"] = {r.shape.rows, r.shape.cols};
    j["scope"] = scope_names_[r.scope];
    nodes.push_back(std::move(j));
  }
  auto scope_list = [&](const std::vector<ScopeRecord>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& s : v) {
      auto j = stats_json(s.stats);
      j["scope"] = scope_names_[s.scope];
      a.push_back(std::move(j));
    }
    return a;
  };
  for (const auto& e : history_)
    history.push_back({{"pass", e.pass},
                       {"measured_gain", e.measured_gain},
                       {"verdict", to_string(e.verdict)},
                       {"scopes", scope_list(e.scopes)}});
  const nlohmann::json doc = {
      {"passes", passes_},
      {"history_every", every_},
      {"history_capacity", options_.history_capacity},
      {"last", {{"nodes", nodes}, {"scopes", scope_list(scopes_)}, {"diagnosis", diagnosis_}}},
      {"history", history}};
  write_file_atomically(path, doc.dump(1) + "\n");
}

template class GradientMonitor<double>;
template class GradientMonitor<float>;

}  // namespace gradscope
