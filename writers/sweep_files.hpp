#pragma once
// The files of a sweep (study/sweep.hpp): one JSON document per run or shard, its CSV, and the
// merge of shard documents into the document the unsharded run writes, byte for byte.
//
// Document: {"command": "sweep", "grid": {the options that define the cells}, "cell_count": cells
// in the whole grid, "shard": "I/N" (only for a part), "cells": [one object per cell, in grid
// order]}. A cell's scalars (index, arch, norm, act, init, depth, width, sigma_w2, sigma_b2, gain,
// gain_sd, gain_theory, theory (what gain_theory is: CellResult::theory_kind), ratio = gain /
// gain_theory, chi1, q_star, xi, total_gain, verdict, and with
// --spectrum jacobian_s2_mean, jacobian_s2_var, jacobian_s_max) are the CSV's columns; its arrays
// (gains per seed; rms_dz and grad_w_norm per layer, 1 = next to the input; with --spectrum
// jacobian_s2, every seed's squared singular values pooled in ascending order) are JSON only. Values
// that cannot be stated (NaN, Inf) are null, an empty CSV field.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "gradscope/study/sweep.hpp"

namespace gradscope::study {

using Json = nlohmann::ordered_json;

Json sweep_json(const Grid& grid, Shard shard, std::size_t cell_count,
                const std::vector<CellResult>& results);
// One line per cell of doc's "cells", after a header of the first cell's scalar keys.
std::string sweep_csv(const Json& doc);

// Shard documents (file name, parsed content) combined into the whole grid's document. Throws
// Error naming the files when one is not a sweep document, when two are shards of different grids
// or hold the same cell, or when cells are missing (naming the first).
Json merge_shards(const std::vector<std::pair<std::string, Json>>& shards);

}  // namespace gradscope::study
