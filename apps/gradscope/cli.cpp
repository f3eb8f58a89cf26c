#include "cli.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <gradscope/instruments/grad_stats.hpp>
#include <gradscope/writers/diagnosis_json.hpp>

namespace gradscope::cli {

json config_json(const NetworkOptions& o, const models::Dataset& data) {
  const auto s = network_spec(o, data.features());
  json c = {{"activation", o.act},
            {"output_activation", "sigmoid"},
            {"arch", o.arch},
            {"norm", o.norm},
            {"depth", o.depth},
            {"width", o.width},
            {"hidden_init", models::describe(s.hidden_init)},
            {"output_init", models::describe(s.output_init)},
            {"seed", o.seed},
            {"samples", data.samples()},
            {"features", data.features()}};
  if (o.data.empty()) {
    c["data"] = "generated";
    c["samples_per_class"] = o.samples;
    c["mean0"] = o.mean0;
    c["mean1"] = o.mean1;
  } else {
    c["data"] = o.data;
  }
  return c;
}

void run_pass(models::Network<double>& net, const models::Dataset& data, Pass& p) {
  Building b(fmt::format("recording the forward and backward pass on {} samples", data.samples()));
  p.graph.clear();
  p.forward = net.forward(p.graph.constant(data.x, "x"));
  p.loss = models::binary_cross_entropy(p.forward.output(), p.graph.constant(data.y, "y"));
  for (auto* param : net.parameters()) param->zero_grad();
  p.graph.backward(p.loss);
}

void require_finite(const Pass& p, const char* command) {
  const double loss = std::abs(p.loss.item());  // fmt prints a NaN with its sign bit: "-nan"
  auto check = [&](const char* what, std::size_t layer, const Eigen::MatrixXd& m) {
    const Eigen::Index bad = m.size() - m.array().isFinite().count();
    if (bad)
      fail(
          "{}: the pass is not finite (loss {}): first in the {} of layer {} ({} of its {} "
          "elements are inf or NaN); the weights or the data overflow the network: lower "
          "--weight-scale or rescale the data",
          command, loss, what, layer, bad, m.size());
  };
  const auto& layers = p.forward.layers;
  for (std::size_t l = 0; l < layers.size(); ++l) {  // forward: values, from the input up
    check("pre-activation z", l + 1, layers[l].z.value());
    check("activation a", l + 1, layers[l].a.value());
  }
  if (!std::isfinite(loss)) fail("{}: the loss is {}", command, loss);
  for (std::size_t l = layers.size(); l-- > 0;) {  // backward: gradients, from the output down
    check("gradient dL/dz", l + 1, layers[l].z.grad());
    check("gradient dL/dw", l + 1, layers[l].w.grad());
  }
}

std::vector<LayerReport> layer_reports(const Pass& p, Eigen::Index samples) {
  std::vector<LayerReport> r;
  for (std::size_t l = 0; l < p.forward.layers.size(); ++l) {
    const auto& o = p.forward.layers[l];
    r.push_back({l + 1, std::string(models::activation_name(o.activation)),
                 Eigen::VectorXd(o.z.grad().col(0)) * double(samples), o.w.grad(),
                 Eigen::VectorXd(o.b.grad().col(0))});
  }
  return r;
}

json matrix_json(const Eigen::MatrixXd& m) {
  json rows = json::array();
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    json row = json::array();
    for (Eigen::Index j = 0; j < m.cols(); ++j) row.push_back(m(i, j));
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {
// ‖dz‖, ‖dw‖, ‖db‖ of a layer.
std::array<double, 3> norms(const LayerReport& L) {
  return {l2_norm(L.dz), l2_norm(L.dw), l2_norm(L.db)};
}
// Those of layer i over those of layer i+1 (the one nearer the output); null for the output layer.
std::array<json, 3> ratios(const std::vector<LayerReport>& layers, std::size_t i) {
  if (i + 1 >= layers.size()) return {nullptr, nullptr, nullptr};
  const auto a = norms(layers[i]), b = norms(layers[i + 1]);
  return {a[0] / b[0], a[1] / b[1], a[2] / b[2]};
}
std::string ratio_text(const json& r) {
  if (r.is_null()) return "";
  const double x = r.get<double>();
  return std::isfinite(x) ? fmt::format("{:.6f}", x) : "n/a";  // 0/0 where a gradient is zero
}
std::string vector_text(const Eigen::VectorXd& v) { return format_matrix(v.transpose()); }
}  // namespace

json layers_json(const std::vector<LayerReport>& layers) {
  // Each number a JSON value in an array (up to twice its 16 bytes) and then text (up to 25).
  constexpr long double kBytesPerNumber = 64;
  std::size_t numbers = 0;
  for (const auto& L : layers) numbers += std::size_t(L.dz.size() + L.dw.size() + L.db.size());
  Building b("building the JSON document");
  require_room(kBytesPerNumber * numbers);
  json out = json::array();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& L = layers[i];
    const auto n = norms(L);
    const auto r = ratios(layers, i);
    // Every member first, the arrays moved in after: an initializer list would copy them, and so
    // would the object's storage growing with them in it.
    json layer = {{"layer", L.layer},   {"activation", L.activation},
                  {"dz", nullptr},      {"dw", nullptr},
                  {"db", nullptr},      {"dz_norm", n[0]},
                  {"dw_norm", n[1]},    {"db_norm", n[2]},
                  {"dz_ratio", r[0]},   {"dw_ratio", r[1]},
                  {"db_ratio", r[2]}};
    layer["dz"] = std::vector<double>(L.dz.data(), L.dz.data() + L.dz.size());
    layer["dw"] = matrix_json(L.dw);
    layer["db"] = std::vector<double>(L.db.data(), L.db.data() + L.db.size());
    out.push_back(std::move(layer));
  }
  return out;
}

void print_layer_table(const std::vector<LayerReport>& layers) {
  Table t({"layer", "act", "dz (sample 0)", "dw", "db", "|dz| ratio", "|dw| ratio", "|db| ratio"});
  for (std::size_t i = layers.size(); i-- > 0;) {
    const auto& L = layers[i];
    const auto r = ratios(layers, i);
    t.add_row({std::to_string(L.layer), L.activation, vector_text(L.dz), format_matrix(L.dw),
               vector_text(L.db), ratio_text(r[0]), ratio_text(r[1]), ratio_text(r[2])});
  }
  t.print();
}

std::string format_matrix(const Eigen::MatrixXd& m) {
  if (m.size() > 8) return fmt::format("|.| = {:.8g}", l2_norm(m));
  std::string s = "[";
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    if (i) s += "; ";
    for (Eigen::Index j = 0; j < m.cols(); ++j) s += fmt::format("{}{:.8g}", j ? " " : "", m(i, j));
  }
  return s + "]";
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

namespace {
bool wide_tables = false;
constexpr std::size_t kColumns = 100;  // a table's width unless --wide

// cell cut to width bytes, ending in "..." (never inside a UTF-8 sequence): only a single column
// wider than a table may be shows this.
std::string shortened(const std::string& cell, std::size_t width) {
  if (cell.size() <= width) return cell;
  std::size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(cell[cut]) & 0xC0) == 0x80) --cut;
  return cell.substr(0, cut) + "...";
}
}  // namespace

void Table::set_wide(bool wide) { wide_tables = wide; }

void Table::print() const {
  std::vector<std::size_t> w(headers_.size());
  for (std::size_t c = 0; c < w.size(); ++c) {
    w[c] = headers_[c].size();
    for (const auto& r : rows_) w[c] = std::max(w[c], r[c].size());
    if (!wide_tables) w[c] = std::min(w[c], kColumns - w[0] - 2);  // a single column too wide
  }
  // Too wide: the columns after the first are printed in blocks that fit, each block after the
  // first column again (as R prints a wide data frame).
  std::vector<std::vector<std::size_t>> blocks{{0}};
  for (std::size_t c = 1, used = w[0]; c < w.size(); ++c) {
    if (!wide_tables && blocks.back().size() > 1 && used + 2 + w[c] > kColumns) {
      blocks.push_back({0});
      used = w[0];
    }
    blocks.back().push_back(c);
    used += 2 + w[c];
  }
  auto line = [&](const std::vector<std::string>& cells, const std::vector<std::size_t>& block) {
    std::string s;
    for (const std::size_t c : block) {
      const std::string cell = shortened(cells[c], w[c]);
      // Numbers (and n/a in a number column) right-aligned, text and matrices left.
      const bool number =
          cell == "n/a" ||
          (!cell.empty() && (std::isdigit((unsigned char)cell[0]) || cell[0] == '-'));
      s += c ? "  " : "";
      s += number ? fmt::format("{:>{}}", cell, w[c]) : fmt::format("{:<{}}", cell, w[c]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    fmt::print("{}\n", s);
  };
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    if (b) fmt::print("\n");
    line(headers_, blocks[b]);
    for (const auto& r : rows_) line(r, blocks[b]);
  }
}

void print_diagnosis(const Diagnosis& d, const std::string& title) {
  fmt::print(
      "\n{} (gain: rms(dL/dz) of a layer over the next one's, measured; trend: the geometric mean "
      "of the gains around it, which the verdict reads; theory: mean-field sqrt(|W|^2/n "
      "E[phi'(z)^2]) from the forward pass and weights alone; ratio = gain/theory)\n{}",
      title, format_table(d));
}

json diagnosis_json(const Diagnosis& d) { return json::parse(nlohmann::json(d).dump()); }

void add_diagnosis(json& doc, const Diagnosis& d) {
  const json j = diagnosis_json(d);
  doc["measured_gain"] = j["measured_gain"];
  doc["theory_gain"] = j["theory_gain"];
  doc["verdict"] = j["verdict"];
  doc["diagnosis"] = j;
}

json read_json(const std::string& path, const char* command) {
  std::string text;
  try {
    text = models::read_text_file(path, "a JSON file", [&](const models::ReadState& r) {
      require_memory(printable_path(path), r);
    });
  } catch (const Error& e) {
    fail("{}: {}", command, e.what());
  }
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    fail("{}: {} is not JSON ({})", command, printable_path(path), e.what());
  }
}

}  // namespace gradscope::cli
