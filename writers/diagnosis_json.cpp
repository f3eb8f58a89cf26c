#include "gradscope/writers/diagnosis_json.hpp"

#include <cmath>

namespace gradscope {

nlohmann::json json_number(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json();
}

void to_json(nlohmann::json& j, const Diagnosis& d) {
  nlohmann::json layers = nlohmann::json::array(), params = nlohmann::json::array();
  for (const auto& l : d.layers)
    layers.push_back({{"layer", l.layer},
                      {"scope", l.scope},
                      {"grad_norm", json_number(l.grad_norm)},
                      {"grad_rms", json_number(l.grad_rms)},
                      {"width", l.width},
                      {"gain", json_number(l.gain)},
                      {"trend", json_number(l.trend)},
                      {"theory_gain", json_number(l.theory_gain)},
                      {"ratio", json_number(l.gain / l.theory_gain)},
                      {"weight_ratio", json_number(l.weight_ratio)},
                      {"verdict", to_string(l.verdict)}});
  for (const auto& p : d.parameters)
    params.push_back({{"name", p.name},
                      {"grad_norm", json_number(p.grad_norm)},
                      {"value_norm", json_number(p.value_norm)},
                      {"ratio", json_number(p.ratio)}});
  j = {{"measured_gain", json_number(d.measured_gain)},
       {"theory_gain", json_number(d.theory_gain)},
       {"total_gain", json_number(d.total_gain)},
       {"verdict", to_string(d.verdict)},
       {"note", d.note},
       {"layers", std::move(layers)},
       {"parameters", std::move(params)}};
}

}  // namespace gradscope
