#include "gradscope/writers/sweep_files.hpp"

#include <fmt/format.h>

#include <cmath>

#include "gradscope/autodiff/error.hpp"

namespace gradscope::study {

namespace {
Json number(double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); }

Json numbers(const std::vector<double>& xs) {
  Json a = Json::array();
  for (double x : xs) a.push_back(number(x));
  return a;
}

Json grid_json(const Grid& g) {
  return {{"arch", g.arch},
          {"norm", g.norm},
          {"rec_init", g.rec_init},
          {"rec_scale", g.rec_scale},
          {"depths", g.depths},     {"widths", g.widths},     {"acts", g.acts},
          {"inits", g.inits},       {"sigma_w2", g.sigma_w2}, {"sigma_b2", g.sigma_b2},
          {"identity_scale", g.identity_scale}, {"repeats", g.repeats}, {"samples", g.samples},
          {"seed", g.seed},         {"spectrum", g.spectrum}};
}

Json cell_json(const CellResult& c) {
  const CellSpec& s = c.spec;
  Json j = {{"index", s.index},
            {"arch", s.arch},
            {"norm", s.norm},
            {"act", s.act},
            {"init", s.init},
            {"depth", s.depth},
            {"width", s.width},
            {"sigma_w2", number(s.sigma_w2)},
            {"sigma_b2", number(s.sigma_b2)},
            {"gain", number(c.gain)},
            {"gain_sd", number(c.gain_sd)},
            {"gain_theory", number(c.theory.gain)},
            {"theory", c.theory_kind},
            {"ratio", number(c.gain / c.theory.gain)},
            {"chi1", number(c.theory.chi1)},
            {"q_star", number(c.theory.q_star)},
            {"xi", number(c.theory.depth_scale)},
            {"total_gain", number(c.total_gain)},
            {"verdict", c.verdict}};
  if (c.has_spectrum) {
    j["jacobian_s2_mean"] = number(c.spectrum.s2_mean);
    j["jacobian_s2_var"] = number(c.spectrum.s2_var);
    j["jacobian_s_max"] = number(c.spectrum.s_max);
  }
  j["gains"] = numbers(c.gains);
  j["rms_dz"] = numbers(c.rms_dz);
  j["grad_w_norm"] = numbers(c.grad_w_norm);
  if (c.has_spectrum) j["jacobian_s2"] = numbers(c.spectrum.s2);
  return j;
}

Json document(Json grid, std::size_t cell_count, const std::string& shard, Json cells) {
  Json doc = {{"command", "sweep"}, {"grid", std::move(grid)}, {"cell_count", cell_count}};
  if (!shard.empty()) doc["shard"] = shard;
  doc["cells"] = std::move(cells);
  return doc;
}
}  // namespace

Json sweep_json(const Grid& grid, Shard shard, std::size_t cell_count,
                const std::vector<CellResult>& results) {
  Json cells = Json::array();
  for (const auto& r : results) cells.push_back(cell_json(r));
  return document(grid_json(grid), cell_count,
                  shard.count > 1 ? fmt::format("{}/{}", shard.index, shard.count) : "",
                  std::move(cells));
}

std::string sweep_csv(const Json& doc) {
  const Json& cells = doc.at("cells");
  if (cells.empty()) return "";
  std::vector<std::string> columns;
  for (const auto& [key, value] : cells.front().items())
    if (!value.is_array()) columns.push_back(key);
  std::string out = fmt::format("{}\n", fmt::join(columns, ","));
  for (const auto& cell : cells) {
    std::vector<std::string> fields;
    for (const auto& key : columns) {
      const Json& v = cell.at(key);
      fields.push_back(v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump());
    }
    out += fmt::format("{}\n", fmt::join(fields, ","));
  }
  return out;
}

Json merge_shards(const std::vector<std::pair<std::string, Json>>& shards) {
  if (shards.empty()) fail("merge: no shard files given");
  const std::string& first = shards.front().first;
  std::vector<const Json*> cells;
  std::vector<std::string> owner;  // per cell index, the file that holds it
  for (const auto& [name, doc] : shards) {
    if (!doc.is_object() || doc.value("command", "") != "sweep" || !doc.contains("grid") ||
        !doc.contains("cell_count") || !doc["cell_count"].is_number_unsigned() ||
        !doc.contains("cells") || !doc["cells"].is_array())
      fail("merge: {} is not a sweep's JSON (gradscope sweep --json)", name);
    if (doc["grid"] != shards.front().second["grid"] ||
        doc["cell_count"] != shards.front().second["cell_count"])
      fail("merge: {} and {} are shards of different grids", first, name);
    const auto count = doc["cell_count"].get<std::size_t>();
    cells.resize(count, nullptr);
    owner.resize(count);
    for (const Json& cell : doc["cells"]) {
      const auto index = cell.value("index", count);
      if (index >= count) fail("merge: {}: a cell's index is missing or beyond {}", name, count);
      if (cells[index])
        fail("merge: cell {} is in both {} and {}", index, owner[index], name);
      cells[index] = &cell;
      owner[index] = name;
    }
  }
  Json merged = Json::array();
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (!cells[i])
      fail("merge: cell {} of {} is in none of the files (a shard is missing)", i, cells.size());
    merged.push_back(*cells[i]);
  }
  const Json& grid = shards.front().second["grid"];
  return document(grid, cells.size(), "", std::move(merged));
}

}  // namespace gradscope::study
