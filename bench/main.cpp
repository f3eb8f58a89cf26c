// gradscope_bench: runs the benchmarks listed in benchmarks.hpp, prints min/median/max of every
// figure with its baseline (measured in the same run) and ratio, and optionally writes JSON.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "benchmarks.hpp"
#include <gradscope/autodiff/error.hpp>
#include <gradscope/ops/product.hpp>

namespace gradscope::bench {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Summary {
  const Figure& f;
  double min, median, max;
  std::optional<double> baseline, ratio;  // medians; the ratio is the median of per-run ratios
};

Summary summarize(const Figure& f) {
  Summary s{f, *std::min_element(f.values.begin(), f.values.end()), median(f.values),
            *std::max_element(f.values.begin(), f.values.end()), {}, {}};
  if (!f.baselines.empty()) {
    s.baseline = median(f.baselines);
    std::vector<double> ratios;
    for (std::size_t i = 0; i < f.values.size(); ++i) {
      const double over = f.speedup ? f.values[i] : f.baselines[i];
      if (over != 0) ratios.push_back((f.speedup ? f.baselines[i] : f.values[i]) / over);
    }
    if (ratios.size() == f.values.size()) s.ratio = median(ratios);
  }
  return s;
}

std::string target_text(const Target& t) {
  return fmt::format("{} {} {:g}", t.of == Target::Of::Value ? "value" : "ratio",
                     t.is == Target::Is::AtMost ? "<=" : ">=", t.bound);
}

// Met when the median (or median ratio) is within the bound; "-" when the figure has no target
// or its ratio is undefined.
std::string verdict(const Summary& s) {
  if (!s.f.target) return "";
  if (s.f.target->of == Target::Of::Ratio && !s.ratio) return "-";
  return s.f.target->met(s.median, s.ratio.value_or(0)) ? "met" : "MISSED";
}

// Four significant digits, but whole numbers (KiB, bytes, counts) in full so that a change of a
// few units stays visible.
std::string number(double x) {
  return x == std::round(x) && std::abs(x) < 1e12 ? fmt::format("{:.0f}", x) : fmt::format("{:.4g}", x);
}
std::string number(const std::optional<double>& x) { return x ? number(*x) : "-"; }

void print_table(const std::vector<Summary>& rows) {
  fmt::print("{:<34} {:>11} {:>10} {:>10} {:>10} {:>10} {:>8}  {:<17} {:<6} {}\n", "figure", "unit",
             "min", "median", "max", "baseline", "ratio", "target", "", "baseline is");
  for (const auto& s : rows)
    fmt::print("{:<34} {:>11} {:>10} {:>10} {:>10} {:>10} {:>8}  {:<17} {:<6} {}\n", s.f.name,
               s.f.unit, number(s.min), number(s.median), number(s.max), number(s.baseline),
               s.ratio ? fmt::format("{:.3f}", *s.ratio) : "-",
               s.f.target ? target_text(*s.f.target) : "", verdict(s), s.f.baseline_name);
}

void write_json(const std::vector<Summary>& rows, const Options& opt, const std::string& path) {
  nlohmann::json figures = nlohmann::json::array();
  auto optional = [](const std::optional<double>& x) { return x ? nlohmann::json(*x) : nlohmann::json(); };
  for (const auto& s : rows)
    figures.push_back({{"name", s.f.name},
                       {"value", s.median},
                       {"unit", s.f.unit},
                       {"baseline", optional(s.baseline)},
                       {"ratio", optional(s.ratio)},
                       {"ratio_is", s.f.speedup ? "baseline/value" : "value/baseline"},
                       {"min", s.min},
                       {"max", s.max},
                       {"runs", s.f.values.size()},
                       {"baseline_is", s.f.baseline_name},
                       {"target", s.f.target ? nlohmann::json(target_text(*s.f.target)) : nlohmann::json()},
                       {"verdict", verdict(s)}});
  const nlohmann::json doc{{"repeat", opt.repeat}, {"figures", figures}};
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << doc.dump(2) << '\n';
    if (!out) fail("cannot write {}", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename {} to {}", tmp, path);
}

}  // namespace
}  // namespace gradscope::bench

int main(int argc, char** argv) {
  using namespace gradscope::bench;
  Options opt;
  std::string json;
  std::vector<std::string> only;
  CLI::App app{"gradscope benchmarks: every figure with min/median/max and its ratio to a baseline "
               "measured in the same run"};
  app.add_option("--json", json, "also write the figures as JSON to this file");
  app.add_option("--repeat", opt.repeat, "repetitions per figure")->check(CLI::Range(1, 1000));
  app.add_option("--long-iterations", opt.long_iterations,
                 "training iterations of the RSS run (0 skips it)")
      ->check(CLI::NonNegativeNumber);
  std::string names;
  for (const auto& e : kBenchmarks) names += fmt::format("{}{}", names.empty() ? "" : ", ", e.name);
  app.add_option("--only", only, "run only these benchmarks: " + names);
  CLI11_PARSE(app, argc, argv);
  for (const auto& name : only)
    if (std::none_of(std::begin(kBenchmarks), std::end(kBenchmarks),
                     [&](const Entry& e) { return e.name == name; })) {
      fmt::print(stderr, "gradscope_bench: unknown benchmark '{}' (known: {})\n", name, names);
      return 2;
    }
  // One allocator setting for every figure, whichever run before it: blocks up to 32 MB come from
  // the heap and freed memory stays there. ADOL-C allocates its buffers (about 55 MB for the
  // scalar tape) anew for every tape, and with glibc's default thresholds they went back to the
  // kernel on free and came as fresh pages on the next tape, several times slower: this is its
  // best case. gradscope allocates nothing per step.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Every figure but wide_mlp_threads runs its products on one thread, as do the hand-written
  // baselines and libtorch beside them; wide_mlp_threads compares all threads with one.
  gradscope::ops::set_product_threads(1);
  try {
    std::vector<Figure> figures;
    for (const auto& e : kBenchmarks) {
      if (!only.empty() && std::find(only.begin(), only.end(), e.name) == only.end()) continue;
      for (auto& f : e.run(opt)) figures.push_back(std::move(f));
    }
    std::vector<Summary> rows;
    for (const auto& f : figures) rows.push_back(summarize(f));
    print_table(rows);
    if (!json.empty()) write_json(rows, opt, json);
  } catch (const gradscope::Error& e) {
    fmt::print(stderr, "gradscope_bench: {}\n", e.what());
    return 2;
  }
}
