#pragma once
// JSON form of a Diagnosis (nlohmann::json, found through ADL: `nlohmann::json j = diagnosis;`).
// Keys: measured_gain, theory_gain, total_gain, verdict, note, layers (unit 1 first: layer, scope,
// grad_norm, grad_rms, width, gain, trend, theory_gain, ratio = gain / theory_gain, weight_ratio,
// verdict) and parameters (name, grad_norm, value_norm, ratio). Values that cannot be stated (NaN, Inf) are null.
#include <nlohmann/json.hpp>

#include "gradscope/instruments/diagnosis.hpp"

namespace gradscope {

// x, or null where it cannot be stated (NaN, Inf): null in the json value itself, not only in its
// text, so a program reading it back sees "no value".
nlohmann::json json_number(double x);

void to_json(nlohmann::json& j, const Diagnosis& d);

}  // namespace gradscope
