#include "gradscope/writers/diagnosis_json.hpp"

#include <cmath>

namespace gradscope {

namespace {

// null in the json value itself, not only in its text, so a program reading it back sees "no value".
nlohmann::json number(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); }

}  // namespace

void to_json(nlohmann::json& j, const Diagnosis& d) {
  nlohmann::json layers = nlohmann::json::array(), params = nlohmann::json::array();
  for (const auto& l : d.layers)
    layers.push_back({{"layer", l.layer},
                      {"scope", l.scope},
                      {"grad_norm", number(l.grad_norm)},
                      {"grad_rms", number(l.grad_rms)},
                      {"gain", number(l.gain)},
                      {"predicted_gain", number(l.predicted_gain)},
                      {"weight_ratio", number(l.weight_ratio)},
                      {"verdict", to_string(l.verdict)}});
  for (const auto& p : d.parameters)
    params.push_back({{"name", p.name},
                      {"grad_norm", number(p.grad_norm)},
                      {"value_norm", number(p.value_norm)},
                      {"ratio", number(p.ratio)}});
  j = {{"measured_gain", number(d.measured_gain)},
       {"predicted_gain", number(d.predicted_gain)},
       {"total_gain", number(d.total_gain)},
       {"verdict", to_string(d.verdict)},
       {"note", d.note},
       {"layers", std::move(layers)},
       {"parameters", std::move(params)}};
}

}  // namespace gradscope
