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
  // A plot as SVG (shown) and PNG, or the note why not.
  void plot(const std::string& stem, const std::string& caption,
            const std::function<std::string(const std::string&)>& script) {
    if (!gnuplot) return graph_missing(stem + ".svg", caption, kGnuplotMissing);
    write(stem + ".gp", script(".svg"));
    for (const char* ext : {".svg", ".png"})
      write(stem + ext, render_gnuplot(script(ext), ext, "report: " + stem + ext));
    page.image(stem + ".svg", caption);
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
};

inline double number_or_nan(const json& x) {
  return x.is_number() ? x.get<double>() : std::numeric_limits<double>::quiet_NaN();
}


// The sections, in the order of the page.
void sweep_section(Report& r, bool full);          // report_sweep.cpp
void theory_section(Report& r, bool full);         // report_theory.cpp
void architectures_section(Report& r, bool full);  // report_architectures.cpp

}  // namespace gradscope::cli
