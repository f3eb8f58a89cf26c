#pragma once
// What the sections of `gradscope report` share: the report being built (its directory, its page,
// the images it could not draw) and the readers of the commands' JSON. Each section is a function
// of its own (report.cpp runs them in order).
#include <fmt/format.h>

#include <functional>
#include <gradscope/writers/atomic_file.hpp>
#include <gradscope/writers/gnuplot.hpp>
#include <gradscope/writers/output_dir.hpp>
#include <limits>
#include <string>
#include <vector>

#include "cli.hpp"
#include "report_page.hpp"

namespace gradscope::cli {

constexpr const char* kReportMarker = ".gradscope-report";
constexpr const char* kGnuplotMissing = "gnuplot is not on PATH; install gnuplot-nox";
constexpr const char* kGraphvizMissing = "Graphviz's dot is not on PATH; install graphviz";

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size())
    s.replace(at, from.size(), to);
  return s;
}

// The state of the report while it is built: the directory, the page, what is missing.
struct Report {
  OutputDirectory dir;
  Page page{"gradscope report: vanishing and exploding gradients, measured"};
  bool gnuplot = bool(find_program("gnuplot"));
  bool graphviz = bool(find_program("dot"));
  std::vector<std::string> missing;  // images not drawn, for stderr
  std::string shown_dir;             // DIR as the user gave it, with a trailing '/'

  explicit Report(const std::string& out)
      : dir("--out", out, kReportMarker), shown_dir(printable_path(dir.path()) + "/") {}

  // Runs a command's function, its printed report as the page shows it (paths in DIR).
  std::string run(const std::function<void()>& work) {
    return replace_all(capture_report(work), dir.file(""), shown_dir);
  }
  void write(const std::string& name, const std::string& content) {
    write_file_atomically(dir.file(name), content);
  }
  // A finding: printed, in the page's summary and in its section.
  void state(const std::string& words) {
    fmt::print("{}\n", words);
    page.finding(words);
    page.paragraph(words);
  }
  // The sweep of grid (gradscope sweep) with its JSON and CSV as DIR/stem.json and DIR/stem.csv:
  // the JSON document, and in table what the sweep printed.
  json sweep(const study::Grid& grid, const std::string& stem, std::string& table) {
    SweepOptions s;
    s.grid = grid;
    s.out.json = dir.file(stem + ".json");
    s.csv = dir.file(stem + ".csv");
    table = run([&] { run_sweep(s); });
    return read_json(s.out.json, "report");
  }
  // A plot (LinePlot or HeatMap) as SVG (shown) and PNG, with its gnuplot script, or the note why
  // not.
  template <class Figure>
  void plot(const std::string& stem, const std::string& caption, const Figure& figure) {
    if (!gnuplot) return graph_missing(stem + ".svg", caption, kGnuplotMissing);
    write(stem + ".gp", plot_script(figure, ".svg"));
    for (const char* ext : {".svg", ".png"})
      write(stem + ext, render_gnuplot(plot_script(figure, ext), ext, "report: " + stem + ext));
    page.image(stem + ".svg", caption);
  }
  // The same plot with the data it shows as DIR/stem.csv, written whether or not gnuplot is there.
  template <class Figure>
  void plot(const std::string& stem, const std::string& caption, const Figure& figure,
            const std::string& csv) {
    write(stem + ".csv", csv);
    plot(stem, caption, figure);
  }
  // The annotated graph a command rendered beside its DOT, or the note why not.
  void graph(const std::string& stem, const std::string& caption) {
    if (!graphviz) return graph_missing(stem + ".svg", caption, kGraphvizMissing);
    page.image(stem + ".svg", caption);
  }
  void graph_missing(const std::string& file, const std::string& caption, const char* why) {
    page.image(file, caption, why);
    missing.push_back(fmt::format("{} ({}): {}", file, caption, why));
  }

 private:
  static std::string plot_script(const LinePlot& p, const std::string& ext) {
    return line_plot_script(p, ext);
  }
  static std::string plot_script(const HeatMap& m, const std::string& ext) {
    return heat_map_script(m, ext);
  }
};

// A grid of random networks of one width for a sweep of the report: acts x inits at one sigma_b^2,
// over depths, repeats seeds per network.
inline study::Grid report_grid(std::vector<std::string> acts, std::vector<std::string> inits,
                               double sigma_b2, std::vector<long> depths, long width,
                               long repeats) {
  study::Grid g;
  g.acts = std::move(acts);
  g.inits = std::move(inits);
  g.sigma_b2 = {sigma_b2};
  g.depths = std::move(depths);
  g.widths = {width};
  g.repeats = repeats;
  return g;
}

inline double number_or_nan(const json& x) {
  return x.is_number() ? x.get<double>() : std::numeric_limits<double>::quiet_NaN();
}


// The sections, in the order of the page.
void sweep_section(Report& r, bool full);          // report_sweep.cpp
void theory_section(Report& r, bool full);         // report_theory.cpp
void architectures_section(Report& r, bool full);  // report_architectures.cpp

}  // namespace gradscope::cli
