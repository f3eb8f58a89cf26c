// GradientMonitor's CSV and JSON files (declared in instruments/monitor.hpp).
#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>

#include "gradscope/instruments/monitor.hpp"
#include "gradscope/writers/atomic_file.hpp"
#include "gradscope/writers/diagnosis_json.hpp"

namespace gradscope {

namespace {

nlohmann::json stats_json(const GradStats& s) {
  return {{"elements", s.elements}, {"l2", s.l2},         {"rms", s.rms},
          {"max_abs", s.max_abs},   {"mean_abs", s.mean_abs}, {"zero_share", s.zero_share},
          {"nonfinite", s.nonfinite}};
}

// A CSV number: empty where it cannot be stated.
std::string field(double x) { return std::isfinite(x) ? fmt::format("{:.17g}", x) : std::string(); }

}  // namespace

template <class T>
void GradientMonitor<T>::write_csv(const std::string& path) const {
  std::string out =
      "pass,unit,kind,elements,l2,rms,max_abs,mean_abs,zero_share,nonfinite,gain,theory_gain,"
      "verdict\n";
  auto row = [&](std::uint64_t pass, std::string_view unit, std::string_view kind,
                 const GradStats* s, double gain, double theory, std::string_view verdict) {
    fmt::format_to(std::back_inserter(out), "{},{},{},", pass, unit, kind);
    if (s)
      fmt::format_to(std::back_inserter(out), "{},{:.17g},{:.17g},{:.17g},{:.17g},{:.17g},{},",
                     s->elements, s->l2, s->rms, s->max_abs, s->mean_abs, s->zero_share,
                     s->nonfinite);
    else
      out += ",,,,,,,";
    fmt::format_to(std::back_inserter(out), "{},{},{}\n", field(gain), field(theory), verdict);
  };
  for (const auto& e : history_) {
    row(e.pass, "network", "", nullptr, e.measured_gain, e.theory_gain, to_string(e.verdict));
    for (const auto& u : e.units)
      for (std::size_t k = 0; k < u.kind.size(); ++k) {
        if (u.kind[k].elements == 0) continue;
        const bool dz = k == std::size_t(GradKind::Z);
        row(e.pass, scope_names_[u.scope], kGradKindNames[k], &u.kind[k], dz ? u.gain : kNoValue,
            dz ? u.theory_gain : kNoValue, dz ? to_string(u.verdict) : "");
      }
  }
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
  for (const auto& s : scopes_) {
    auto j = stats_json(s.stats);
    j["scope"] = scope_names_[s.scope];
    scopes.push_back(std::move(j));
  }
  for (const auto& e : history_) {
    nlohmann::json units = nlohmann::json::array();
    for (const auto& u : e.units) {
      nlohmann::json kinds;
      for (std::size_t k = 0; k < u.kind.size(); ++k)
        if (u.kind[k].elements) kinds[std::string(kGradKindNames[k])] = stats_json(u.kind[k]);
      units.push_back({{"unit", scope_names_[u.scope]},
                       {"gain", json_number(u.gain)},
                       {"theory_gain", json_number(u.theory_gain)},
                       {"verdict", to_string(u.verdict)},
                       {"gradients", std::move(kinds)}});
    }
    history.push_back({{"pass", e.pass},
                       {"measured_gain", json_number(e.measured_gain)},
                       {"theory_gain", json_number(e.theory_gain)},
                       {"total_gain", json_number(e.total_gain)},
                       {"verdict", to_string(e.verdict)},
                       {"units", std::move(units)}});
  }
  const nlohmann::json doc = {
      {"passes", passes_},
      {"history_every", every_},
      {"history_capacity", options_.history_capacity},
      {"last", {{"nodes", nodes}, {"scopes", scopes}, {"diagnosis", diagnosis_}}},
      {"history", history}};
  write_file_atomically(path, doc.dump(1) + "\n");
}

template void GradientMonitor<double>::write_csv(const std::string&) const;
template void GradientMonitor<float>::write_csv(const std::string&) const;
template void GradientMonitor<double>::write_json(const std::string&) const;
template void GradientMonitor<float>::write_json(const std::string&) const;

}  // namespace gradscope
