// `gradscope sweep`: a grid of wide random networks of any architecture measured beside its theory
// (study/sweep.hpp), on all cores, in shards for many machines; `gradscope merge`: the shards'
// JSON files combined into the whole grid's.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <gradscope/writers/sweep_files.hpp>
#include <memory>
#include <sstream>

#include "cli.hpp"
#include "progress.hpp"

namespace gradscope::cli {

namespace {

std::string number(const json& v, const char* format = "{:.4g}") {
  return v.is_null() ? "-" : fmt::format(fmt::runtime(format), v.get<double>());
}

// One row per cell of a sweep document.
void print_cells(const json& doc) {
  const json& cells = doc.at("cells");
  const bool spectrum = !cells.empty() && cells.front().contains("jacobian_s2_mean");
  std::vector<std::string> headers{"act",      "init",  "depth",  "width",  "sigma_w2",
                                   "sigma_b2", "gain",  "+-sd",   "theory", "ratio",
                                   "xi",       "total", "verdict"};
  if (spectrum)
    for (const char* h : {"s2 mean", "s2 var", "s max"}) headers.emplace_back(h);
  Table table(headers);
  for (const json& c : cells) {
    std::vector<std::string> row{c.at("act").get<std::string>(),
                                 c.at("init").get<std::string>(),
                                 std::to_string(c.at("depth").get<long>()),
                                 std::to_string(c.at("width").get<long>()),
                                 number(c.at("sigma_w2")),
                                 number(c.at("sigma_b2")),
                                 number(c.at("gain")),
                                 number(c.at("gain_sd"), "{:.2g}"),
                                 number(c.at("gain_theory")),
                                 number(c.at("ratio"), "{:.3f}"),
                                 number(c.at("xi"), "{:.3g}"),
                                 number(c.at("total_gain"), "{:.3g}"),
                                 c.at("verdict").get<std::string>()};
    if (spectrum)
      for (const char* k : {"jacobian_s2_mean", "jacobian_s2_var", "jacobian_s_max"})
        row.push_back(number(c.at(k)));
    table.add_row(std::move(row));
  }
  table.print();
}

void finish(Outputs& outputs, const std::string& csv, const json& doc) {
  if (!csv.empty()) outputs.set(csv, study::sweep_csv(doc));
  outputs.finish(doc);
}

// The outputs of sweep and merge (finish writes them): --json (json_help says what it holds),
// --csv and --wide.
void add_cell_outputs(CLI::App& cmd, const std::string& json_help, OutputOptions& out,
                      std::string& csv) {
  cmd.add_option("--json", out.json, json_help);
  cmd.add_option("--csv", csv, "write one row per cell as CSV ('-': standard output)");
  add_wide_option(cmd, out.wide);
}

// Claims --csv; with '-' the CSV takes standard output, so the report goes to standard error.
void add_csv_output(Outputs& outputs, const std::string& csv) {
  outputs.files().add_output("--csv", csv);  // refuses --csv - beside --json -
  if (csv == "-") report_to_stderr();
}

}  // namespace

void run_sweep(const SweepOptions& o) {
  const study::Shard shard = study::parse_shard(o.shard);
  if (o.threads < 1) fail("sweep: --threads {}: must be >= 1", o.threads);
  Outputs outputs(o.out, NetworkOptions{});
  add_csv_output(outputs, o.csv);
  const bool recurrent = o.grid.arch == "rnn" || o.grid.arch == "lstm";
  for (const CLI::Option* given : recurrent ? o.layer_only : o.recurrent_only)
    if (given && given->count())
      fail("sweep: {} does not apply to --arch {}", given->get_name(), o.grid.arch);
  study::Grid grid = o.grid;
  if (recurrent && !(o.acts_given && o.acts_given->count())) grid.acts = {"tanh"};
  const auto all = study::cells(grid);
  const auto start = std::chrono::steady_clock::now();
  std::size_t in_shard = 0;
  const study::CellSpec* largest = nullptr;
  double largest_bytes = 0;
  for (const auto& c : all) {
    if (!shard.contains(c)) continue;
    ++in_shard;
    if (const double bytes = study::cell_bytes(grid, c); !largest || bytes > largest_bytes) {
      largest = &c;
      largest_bytes = bytes;
    }
  }
  if (largest) {
    const auto at_once = std::min<std::size_t>(std::size_t(o.threads), in_shard);
    require_memory(fmt::format("sweep --arch {} --depths {} --widths {} --samples {}", grid.arch,
                               largest->depth, largest->width, grid.samples),
                   at_once > 1 ? fmt::format("{} such cells at once (--threads {})", at_once,
                                             o.threads)
                               : std::string("one pass"),
                   (long double)(at_once) * largest_bytes);
  }
  Progress progress("sweep", in_shard, "cells");
  const auto results =
      study::run_sweep(grid, all, shard, unsigned(o.threads),
                       [&](std::size_t done, std::size_t) { progress.update(done); });
  progress.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const json doc = study::sweep_json(grid, shard, all.size(), results);
  fmt::print(
      "sweep: {} cells{} x {} seeds, {} samples each, on {} threads: {:.3g} s ({:.3g} cells/s)\n",
      results.size(),
      shard.count > 1 ? fmt::format(" (shard {} of {} cells)", o.shard, all.size()) : "",
      grid.repeats, grid.samples, o.threads, seconds, double(results.size()) / seconds);
  // One architecture per grid: named here, in each cell's JSON and CSV, not in every row.
  if (recurrent)
    fmt::print(
        "{}: gain: the fitted per-step gain of |dL/dh_t|, mean over seeds (+-sd); theory: {}; "
        "total: |dL/dh_1|/|dL/dh_T|\n",
        grid.arch,
        grid.arch == "rnn" ? "Pascanu's bound sigma_max(W_rec) x sup|phi'|" : "none for an lstm");
  else if (grid.arch == "mlp" && grid.norm == "none")
    fmt::print(
        "gain: the diagnosis's rms gain of dL/dz per layer, mean over seeds (+-sd); theory: "
        "mean-field sqrt(chi1); xi = -1/ln chi1; total: rms(dz_1)/rms(dz_L)\n");
  else
    fmt::print(
        "{}{}: gain: the diagnosis's rms gain of dL/dz per {}, mean over seeds (+-sd); theory: "
        "mean-field {} (docs/sweep.md); total: rms(dz_1)/rms(dz_L)\n",
        grid.arch, grid.norm == "layer" ? " with layer norm" : "",
        grid.arch == "mlp" ? "layer" : "block",
        grid.arch == "mlp" ? "through the layer norm" : "of residual blocks");
  print_cells(doc);
  finish(outputs, o.csv, doc);
}

namespace {
struct MergeOptions {
  std::vector<std::string> files;
  OutputOptions out;
  std::string csv;
};

void run_merge(const MergeOptions& o) {
  Outputs outputs(o.out, NetworkOptions{});
  add_csv_output(outputs, o.csv);
  std::vector<std::pair<std::string, json>> shards;
  for (const auto& f : o.files) {
    outputs.files().add_input("FILES", f);
    shards.emplace_back(printable_path(f), read_json(f, "merge"));
  }
  const json doc = study::merge_shards(shards);
  fmt::print("merge: {} files, {} cells\n", shards.size(), doc.at("cells").size());
  print_cells(doc);
  finish(outputs, o.csv, doc);
}
}  // namespace

void add_sweep(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  auto* cmd = app.add_subcommand(
      "sweep",
      "A grid of wide random networks (--arch mlp, residual, rnn or lstm), one backward pass per "
      "seed on unit-variance inputs: the measured gradient gain per layer or time step beside "
      "its theory (docs/sweep.md)");
  study::Grid& g = o->grid;
  add_architecture_options(*cmd, g.arch, g.norm);
  add_recurrent_weight_options(*cmd, g.rec_init, g.rec_scale);
  o->recurrent_only = {cmd->get_option("--rec-init"), cmd->get_option("--rec-scale")};
  cmd->add_option("--depths", g.depths,
                  "layers or blocks, comma-separated (each >= 3); rnn, lstm: steps T (>= 2)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--widths", g.widths,
                  "units per layer (rnn, lstm: hidden units), comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  o->acts_given =
      cmd->add_option("--acts", g.acts,
                      "activations: relu, leaky_relu, tanh, sigmoid, identity (rnn: tanh or "
                      "identity, default tanh; lstm: tanh)")
          ->delimiter(',')
          ->capture_default_str();
  auto* inits = cmd->add_option("--inits", g.inits,
                  "initialisers: identity (s*I), gaussian (--sigma-w2, --sigma-b2), xavier "
                  "(glorot), he (kaiming), orthogonal, fan_in_uniform (U[+-1/sqrt n]), critical "
                  "(gaussian on the edge of chaos for each --sigma-b2)")
      ->delimiter(',')
      ->capture_default_str();
  auto* sigma_w2 =
      cmd->add_option("--sigma-w2", g.sigma_w2, "gaussian: n Var(W), comma-separated (> 0)")
          ->delimiter(',')
          ->capture_default_str();
  auto* sigma_b2 =
      cmd->add_option("--sigma-b2", g.sigma_b2, "gaussian, critical: Var(b), comma-separated (>= 0)")
          ->delimiter(',')
          ->capture_default_str();
  auto* identity =
      cmd->add_option("--identity-scale", g.identity_scale, "identity: s in W = s*I")
          ->capture_default_str();
  o->layer_only = {inits, sigma_w2, sigma_b2, identity};
  add_integer_option(*cmd, "--repeats", g.repeats, "seeds per cell");
  add_integer_option(*cmd, "--samples", g.samples, "random inputs per pass");
  add_integer_option(*cmd, "--seed", g.seed,
                     "seed of the whole grid (each cell's from its position)");
  cmd->add_flag("--spectrum", g.spectrum,
                "singular values of the input-output Jacobian (exact SVD; widths up to 1024)");
  add_integer_option(*cmd, "--threads", o->threads,
                     "cells run in parallel (default: one per core the process may use)");
  cmd->add_option("--shard", o->shard,
                  "run part I of N of the grid (I/N); gradscope merge joins them")
      ->capture_default_str();
  add_cell_outputs(*cmd, "write the grid and every cell as JSON ('-': standard output)",
                   o->out, o->csv);
  cmd->callback([o] { run_sweep(*o); });

  auto m = std::make_shared<MergeOptions>();
  auto* merge = app.add_subcommand("merge",
                                   "Combine the JSON files of a sweep's shards (sweep --shard I/N "
                                   "--json) into the whole grid's");
  merge->add_option("FILES", m->files, "the shards' JSON files")->required();
  add_cell_outputs(*merge, "write the merged JSON ('-': standard output)", m->out, m->csv);
  merge->callback([m] { run_merge(*m); });
}

}  // namespace gradscope::cli
