#include "gradscope/writers/gnuplot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gradscope/autodiff/error.hpp"
#include "gradscope/writers/atomic_file.hpp"
#include "gradscope/writers/printable.hpp"
#include "gradscope/writers/renderer.hpp"

namespace gradscope {

namespace {
// A value as a data line shows it; gnuplot skips "NaN" points.
std::string number(double v, bool log) {
  return std::isfinite(v) && (!log || v > 0) ? fmt::format("{:.8g}", v) : std::string("NaN");
}

std::string labels(const std::string& title, const std::string& xlabel,
                   const std::string& ylabel) {
  return fmt::format("set title {}\nset xlabel {}\nset ylabel {}\n", gnuplot_quote(title),
                     gnuplot_quote(xlabel), gnuplot_quote(ylabel));
}

void check_lengths(const std::string& plot, const PlotSeries& series) {
  if (series.x.size() != series.y.size())
    fail("plot '{}': series '{}' has {} x and {} y values", plot, series.title, series.x.size(),
         series.y.size());
}
}  // namespace

std::string gnuplot_quote(std::string_view text) {
  std::string q = "'";
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      fail("gnuplot text '{}': control character 0x{:02x}", printable_path(std::string(text)),
           static_cast<unsigned char>(c));
    q += c == '\'' ? std::string("''") : std::string(1, c);
  }
  return q + "'";
}

std::string gnuplot_output_header(const std::string& ext, int width, int height) {
  if (ext != ".svg" && ext != ".png") fail("gnuplot image format '{}': use .svg or .png", ext);
  return fmt::format(
      "if (!exists('out')) out = ARG0[1:strlen(ARG0) - 3] . '{}'\n"
      "set terminal {} size {},{} font 'Helvetica,11'\n"
      "set output out\n",
      ext, ext == ".svg" ? "svg dynamic background '#ffffff'" : "pngcairo background '#ffffff'",
      width, height);
}

std::string line_plot_script(const LinePlot& p, const std::string& ext) {
  std::string s = "# gradscope: " + gnuplot_quote(p.title) + "\n" + gnuplot_output_header(ext, 900, 540);
  s += labels(p.title, p.xlabel, p.ylabel);
  s += "set grid\nset key outside right top\nset datafile missing 'NaN'\n";
  if (p.log_x) s += "set logscale x\nset format x '10^{%L}'\n";
  if (p.log_y) s += "set logscale y\nset format y '10^{%L}'\n";
  if (p.reverse_x) s += "set xrange [*:*] reverse\n";
  std::string plots;
  for (std::size_t k = 0; k < p.series.size(); ++k) {
    const auto& series = p.series[k];
    check_lengths(p.title, series);
    s += fmt::format("$s{} << EOD\n", k);
    for (std::size_t i = 0; i < series.x.size(); ++i)
      s += fmt::format("{} {}\n", number(series.x[i], p.log_x), number(series.y[i], p.log_y));
    s += "EOD\n";
    plots += fmt::format("{}$s{} using 1:2 with linespoints lw 2 pt 7 ps 0.6 dt {}{} title {}",
                         k ? ", " : "", k, series.dashed ? 2 : 1,
                         series.colour > 0 ? fmt::format(" lt {}", series.colour) : "",
                         gnuplot_quote(series.title));
  }
  if (p.series.empty()) fail("plot '{}': no series", p.title);
  return s + "plot " + plots + "\n";
}

std::string heat_map_script(const HeatMap& m, const std::string& ext) {
  if (m.z.size() != m.x.size() || m.x.size() < 2 || m.y.size() < 2)
    fail("heat map '{}': needs at least 2 x 2 values, has {} x {} and {} columns", m.title,
         m.x.size(), m.y.size(), m.z.size());
  std::string s = "# gradscope: " + gnuplot_quote(m.title) + "\n" + gnuplot_output_header(ext, 900, 540);
  s += labels(m.title, m.xlabel, m.ylabel);
  s += fmt::format("set cblabel {}\nset view map\nset pm3d map corners2color c1\n"
                   "set datafile missing 'NaN'\nset palette defined (0 '#2166ac', 0.5 "
                   "'#f7f7f7', 1 '#b2182b')\n",
                   gnuplot_quote(m.zlabel));
  if (std::abs(m.y.back() - m.y.front()) <= 20) s += "set ytics 1\n";  // wider: gnuplot's tics
  if (m.log_z) s += "set logscale cb\nset format cb '10^{%L}'\n";
  if (m.centre_zero) {
    double extent = 0;
    for (const auto& column : m.z)
      for (double v : column)
        if (std::isfinite(v)) extent = std::max(extent, std::abs(v));
    if (extent > 0) s += fmt::format("set cbrange [{:.8g}:{:.8g}]\n", -extent, extent);
  }
  s += fmt::format("set xrange [{}:{}]\nset yrange [{}:{}]\n", number(m.x.front(), false),
                   number(m.x.back(), false), number(m.y.front(), false), number(m.y.back(), false));
  s += m.curves.empty() ? "unset key\n" : "set key inside left top opaque box\n";
  s += "$map << EOD\n";
  for (std::size_t i = 0; i < m.x.size(); ++i) {
    if (m.z[i].size() != m.y.size())
      fail("heat map '{}': column {} has {} values for {} rows", m.title, i, m.z[i].size(),
           m.y.size());
    for (std::size_t j = 0; j < m.y.size(); ++j)
      s += fmt::format("{} {} {}\n", number(m.x[i], false), number(m.y[j], false),
                       number(m.z[i][j], m.log_z));
    s += "\n";  // one scan line per x
  }
  s += "EOD\n";
  std::string plots = "splot $map using 1:2:3 with pm3d notitle";
  const auto [y_low, y_high] = std::minmax(m.y.front(), m.y.back());
  for (std::size_t k = 0; k < m.curves.size(); ++k) {
    const auto& curve = m.curves[k];
    check_lengths(m.title, curve);
    s += fmt::format("$c{} << EOD\n", k);
    for (std::size_t i = 0; i < curve.x.size(); ++i)  // a blank line breaks the curve outside
      s += curve.y[i] >= y_low && curve.y[i] <= y_high
               ? fmt::format("{} {}\n", number(curve.x[i], false), number(curve.y[i], false))
               : std::string("\n");
    s += "EOD\n";
    plots += fmt::format(", $c{} using 1:2:(0) with lines lw 2.5 lc rgb '#000000' dt {} title {}",
                         k, curve.dashed ? 2 : 1, gnuplot_quote(curve.title));
  }
  return s + plots + "\n";
}

std::string render_gnuplot(const std::string& script, const std::string& ext,
                           const std::string& what) {
  const auto gnuplot = find_program("gnuplot");
  if (!gnuplot) fail("{}: gnuplot is not on PATH (install gnuplot-nox)", what);
  return run_renderer({*gnuplot, "plot.gp"}, {{"plot.gp", script}}, "plot" + ext,
                      what + ": gnuplot");
}

}  // namespace gradscope
