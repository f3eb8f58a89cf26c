#pragma once
// JSON form of a Diagnosis (nlohmann::json, found through ADL: `nlohmann::json j = diagnosis;`).
// Keys: measured_gain, predicted_gain, total_gain, verdict, note, layers (layer 1 first: layer,
// scope, grad_norm, grad_rms, gain, predicted_gain, weight_ratio, verdict) and parameters (name,
// grad_norm, value_norm, ratio). Values that cannot be stated (NaN, Inf) are null.
#include <nlohmann/json.hpp>

#include "gradscope/instruments/diagnosis.hpp"

namespace gradscope {

void to_json(nlohmann::json& j, const Diagnosis& d);

}  // namespace gradscope
