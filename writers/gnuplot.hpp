#pragma once
// gnuplot scripts with their data inline, and rendering them. No path or name ever becomes code:
// every text a script shows goes through gnuplot_quote, and a script holds no file name at all.
// It writes its image beside itself under its own name (plot.gp -> plot.svg, through ARG0), or to
// the variable `out` when given (gnuplot -e "out='x.svg'" plot.gp), so it renders the same in a
// private directory and when a user re-runs a saved copy.
#include <string>
#include <string_view>
#include <vector>

namespace gradscope {

// text as a gnuplot single-quoted string ('' for a quote, no escapes). Error on a control
// character, which gnuplot would read as the end of the command.
std::string gnuplot_quote(std::string_view text);

// The lines every script starts with: `out` from ARG0 unless given, the terminal for ext (".svg"
// or ".png") at width x height pixels, white background.
std::string gnuplot_output_header(const std::string& ext, int width, int height);

struct PlotSeries {
  std::string title;
  std::vector<double> x, y;  // same length; a non-finite y (or <= 0 on a log axis) is left out
  int colour = 0;            // 0: the next colour; n > 0: gnuplot's n-th (series may share one)
  bool dashed = false;
};

// Lines with points, one per series.
struct LinePlot {
  std::string title, xlabel, ylabel;
  bool log_x = false, log_y = false;
  bool reverse_x = false;  // e.g. layers drawn from the output (left) to the input (right)
  std::vector<PlotSeries> series;
};
std::string line_plot_script(const LinePlot& plot, const std::string& ext);

// A colour map of z over the grid x × y, z[i][j] at (x[i], y[j]); a non-finite z (or <= 0 with
// log_z) is left blank. Curves are drawn over it, clipped to the grid's y range.
struct HeatMap {
  std::string title, xlabel, ylabel, zlabel;
  bool log_z = false;
  bool centre_zero = false;  // a colour range symmetric about 0 (white): for a signed z
  std::vector<double> x, y;
  std::vector<std::vector<double>> z;
  std::vector<PlotSeries> curves;
};
std::string heat_map_script(const HeatMap& map, const std::string& ext);

// Runs gnuplot on script in a private directory (writers/renderer.hpp) and returns the image it
// wrote (ext ".svg" or ".png"), checked complete. Error starting with `what` when gnuplot is not on
// PATH, fails, or leaves an incomplete image.
std::string render_gnuplot(const std::string& script, const std::string& ext,
                           const std::string& what);

}  // namespace gradscope
