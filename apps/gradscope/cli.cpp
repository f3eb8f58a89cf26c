#include "cli.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <gradscope/writers/atomic_file.hpp>
#include <gradscope/writers/diagnosis_json.hpp>
#include <gradscope/instruments/grad_stats.hpp>

namespace gradscope::cli {

void add_network_options(CLI::App& cmd, NetworkOptions& o) {
  cmd.add_option("--act", o.act, "hidden activation: relu, leaky_relu, sigmoid, tanh, identity")
      ->capture_default_str();
  cmd.add_option("--depth", o.depth, "layers, the output layer included")->capture_default_str();
  cmd.add_option("--width", o.width, "units per hidden layer")->capture_default_str();
  auto* scale = cmd.add_option("--weight-scale", o.weight_scale,
                               "hidden weights s*I, output weights all ones (the seed's init)")
                    ->capture_default_str();
  cmd.add_option(
         "--init", o.init,
         "named initialiser for all layers instead of the scaled identity: zeros, identity, "
         "uniform, normal, xavier, xavier_normal, he, he_uniform, orthogonal")
      ->excludes(scale);
  cmd.add_option("--samples", o.samples, "generated points per class")->capture_default_str();
  cmd.add_option("--mean0", o.mean0, "mean of class 0 (two numbers)")
      ->expected(2)
      ->capture_default_str();
  cmd.add_option("--mean1", o.mean1, "mean of class 1 (two numbers)")
      ->expected(2)
      ->capture_default_str();
  cmd.add_option("--seed", o.seed, "seed of the data generator and random initialisers")
      ->capture_default_str();
  cmd.add_option("--data", o.data,
                 "CSV file of points to use instead of generated ones: header row, feature "
                 "columns, last column the 0/1 label");
}

void add_output_options(CLI::App& cmd, OutputOptions& o) {
  cmd.add_option("--json", o.json, "write the configuration and per-layer results as JSON");
  auto* dot =
      cmd.add_option("--dot", o.dot,
                     "write the graph of the pass as Graphviz DOT, annotated and coloured "
                     "by gradient magnitude; with Graphviz installed also FILE's .svg, .png");
  cmd.add_option("--svg", o.svg, "render the graph to this SVG file instead (needs Graphviz's dot)")
      ->needs(dot);
  cmd.add_flag("--collapse", o.collapse, "DOT: one node per layer")->needs(dot);
  cmd.add_option("--grad-norm", o.grad_norm, "DOT: magnitude of a tensor gradient: l2, max or mean")
      ->check(CLI::IsMember({"l2", "max", "mean"}))
      ->capture_default_str()
      ->needs(dot);
}

void require_positive(const char* option, double x) {
  if (!std::isfinite(x) || x <= 0) fail("{} must be a finite number > 0, got {}", option, x);
}

models::Dataset make_data(const NetworkOptions& o) {
  if (!o.data.empty()) return models::load_csv(o.data);
  if (o.samples < 1) fail("--samples must be at least 1, got {}", o.samples);
  models::TwoGaussians spec;
  spec.mean0 = Eigen::Vector2d(o.mean0[0], o.mean0[1]);
  spec.mean1 = Eigen::Vector2d(o.mean1[0], o.mean1[1]);
  spec.per_class = o.samples;
  spec.seed = o.seed;
  return models::two_gaussians(spec);
}

models::SeedNetworkSpec network_spec(const NetworkOptions& o, Eigen::Index inputs) {
  if (o.depth < 1) fail("--depth must be at least 1, got {}", o.depth);
  if (o.width < 1) fail("--width must be at least 1, got {}", o.width);
  if (!std::isfinite(o.weight_scale)) fail("--weight-scale must be finite, got {}", o.weight_scale);
  models::SeedNetworkSpec s;
  s.inputs = inputs;
  s.depth = std::size_t(o.depth);
  s.width = o.width;
  s.hidden = models::parse_activation(o.act);
  s.output = models::Activation::Sigmoid;
  if (o.init.empty()) {
    s.hidden_init = models::Init::scaled_identity(o.weight_scale);
    s.output_init = models::Init::constant(1);
  } else {
    s.hidden_init = s.output_init = models::parse_init(o.init);
  }
  s.seed = o.seed;
  return s;
}

json config_json(const NetworkOptions& o, const models::Dataset& data) {
  const auto s = network_spec(o, data.features());
  json c = {{"activation", o.act},
            {"output_activation", "sigmoid"},
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

void run_pass(models::Mlp<double>& net, const models::Dataset& data, Pass& p) {
  p.graph.clear();
  p.forward = net.forward(p.graph.constant(data.x, "x"));
  p.loss = models::binary_cross_entropy(p.forward.output(), p.graph.constant(data.y, "y"));
  for (auto* param : net.parameters()) param->zero_grad();
  p.graph.backward(p.loss);
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
    rows.push_back(row);
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
  json out = json::array();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& L = layers[i];
    std::vector<double> dz(L.dz.data(), L.dz.data() + L.dz.size());
    std::vector<double> db(L.db.data(), L.db.data() + L.db.size());
    const auto n = norms(L);
    const auto r = ratios(layers, i);
    out.push_back({{"layer", L.layer},
                   {"activation", L.activation},
                   {"dz", dz},
                   {"dw", matrix_json(L.dw)},
                   {"db", db},
                   {"dz_norm", n[0]},
                   {"dw_norm", n[1]},
                   {"db_norm", n[2]},
                   {"dz_ratio", r[0]},
                   {"dw_ratio", r[1]},
                   {"db_ratio", r[2]}});
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

void Table::print() const {
  std::vector<std::size_t> w(headers_.size());
  for (std::size_t c = 0; c < w.size(); ++c) {
    w[c] = headers_[c].size();
    for (const auto& r : rows_) w[c] = std::max(w[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      // Numbers (and n/a in a number column) right-aligned, text and matrices left.
      const bool number =
          cells[c] == "n/a" ||
          (!cells[c].empty() && (std::isdigit((unsigned char)cells[c][0]) || cells[c][0] == '-'));
      s += c ? "  " : "";
      s += number ? fmt::format("{:>{}}", cells[c], w[c]) : fmt::format("{:<{}}", cells[c], w[c]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    fmt::print("{}\n", s);
  };
  line(headers_);
  for (const auto& r : rows_) line(r);
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

void check_output_path(const char* option, const std::string& path) {
  if (path.empty()) return;
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (!std::filesystem::is_directory(dir))
    fail("{} {}: directory '{}' does not exist", option, path, dir);
  if (::access(dir.c_str(), W_OK) != 0)
    fail("{} {}: directory '{}' is not writable", option, path, dir);
}

void check_output_paths(const OutputOptions& out) {
  check_output_path("--json", out.json);
  check_output_path("--dot", out.dot);
  check_output_path("--svg", out.svg);
}

void finish(const OutputOptions& out, const Graph<double>& graph, const json& doc) {
  if (!out.svg.empty() && !find_program("dot"))
    fail(
        "--svg {}: Graphviz's dot is not on PATH (install graphviz, or drop --svg and render "
        "the DOT file later)",
        out.svg);
  if (!out.json.empty()) write_file_atomically(out.json, doc.dump(2) + "\n");
  if (out.dot.empty()) return;
  DotOptions dot;
  dot.collapse = out.collapse;
  dot.norm = out.grad_norm == "max"    ? GradNorm::Max
             : out.grad_norm == "mean" ? GradNorm::Mean
                                       : GradNorm::L2;
  dot.edge_gradients = true;  // the CLI's pictures always show the flow along each edge
  if (!out.svg.empty()) {
    write_dot(graph, out.dot, dot);
    render_dot(out.dot, out.svg);
    fmt::print("wrote {} and {}\n", out.dot, out.svg);
    return;
  }
  const DotExport e = export_dot(graph, out.dot, dot);
  fmt::print("wrote {}\n", fmt::join(e.files, ", "));
  if (!e.note.empty()) fmt::print("{}\n", e.note);
}

}  // namespace gradscope::cli
