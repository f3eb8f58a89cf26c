// Sections 5 and 6 of `gradscope report`: two pictures of the theory papers, measured by sweeps: the phase
// diagram of Schoenholz et al. 2017 (gradient attenuation over σ_w² × depth beside the depth scale
// ξ) and the Jacobian spectra of Pennington, Schoenholz & Ganguli 2017.
#include <gradscope/instruments/mean_field.hpp>
#include <gradscope/models/activation_op.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "report.hpp"

namespace gradscope::cli {

namespace {
// A CSV field: empty where a value cannot be stated (ξ at the edge of chaos), as the sweep's CSV.
std::string field(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : ""; }

// Backward through L layers multiplies E[dz²] by χ₁^L = e^(−L/ξ): at L = 6|ξ| the rms gradient has
// changed by e³, a factor of 10^1.30, whichever way it goes.
constexpr double kSixXiLog10 = 3 / 2.302585092994046;

// Schoenholz et al. 2017, figure 5's picture for the gradient: tanh at σ_b² = 0.05 is ordered
// (gradients vanish) below the edge of chaos σ_w² ≈ 1.76 and chaotic (they explode) above it.
void phase_diagram(Report& r, bool full) {
  r.page.heading("5. The edge of chaos: gradient attenuation over sigma_w^2 and depth");
  const models::ActivationOp tanh_op = models::activation_op(models::Activation::Tanh);
  const double sigma_b2 = 0.05;
  const double critical = critical_sigma_w2(tanh_op.op, tanh_op.attr, sigma_b2);
  study::Grid g = report_grid({"tanh"}, {"gaussian"}, sigma_b2,
                              full ? std::vector<long>{3, 5, 8, 10, 13, 16, 20, 25, 30, 40, 50, 60}
                                   : std::vector<long>{3, 6, 10, 15, 20, 30, 45, 60},
                              full ? 512 : 256, full ? 3 : 1);
  g.sigma_w2 = {0.5, 0.75, 1, 1.25, 1.5, critical, 2, 2.25, 2.5, 3, 3.5, 4};
  r.page.paragraph(fmt::format(
      "tanh networks of width {} with weights N(0, sigma_w^2/n) and biases N(0, {}), {} seed(s) "
      "per network (gradscope sweep --acts tanh --inits gaussian --sigma-b2 {} --sigma-w2 ... "
      "--depths ...). The colour is log10 of the measured gradient attenuation rms(dL/dz) at the "
      "first layer over rms(dL/dz) at the output layer (the sweep's total_gain): blue vanishes, "
      "red explodes. The curve is mean-field theory's L = 6|xi|, xi = -1/ln chi_1: the depth at "
      "which the rms gradient has changed by e^3 = 10^{:.2f}. It diverges at the edge of chaos, "
      "sigma_w^2 = {:.3f}, where chi_1 = 1.",
      g.widths.front(), sigma_b2, g.repeats, sigma_b2, kSixXiLog10, critical));
  std::string table;
  const json doc = r.sweep(g, "phase-diagram-sweep", table);

  HeatMap map;
  map.title = fmt::format("tanh, sigma_b^2 = {}, width {}: log10 gradient attenuation", sigma_b2,
                          g.widths.front());
  map.xlabel = "sigma_w^2";
  map.ylabel = "depth L";
  map.zlabel = "log10 rms(dL/dz_1) / rms(dL/dz_L)";
  map.centre_zero = true;
  map.x = g.sigma_w2;
  for (long d : g.depths) map.y.push_back(double(d));
  map.z.assign(map.x.size(), std::vector<double>(map.y.size(), std::nan("")));
  std::string csv = "sigma_w2,depth,log10_attenuation,chi1,xi\n";
  for (const auto& c : doc["cells"]) {  // grid order: σ_w² outer, depth inner
    const std::size_t i = std::size_t(std::find(map.x.begin(), map.x.end(),
                                                c["sigma_w2"].get<double>()) - map.x.begin());
    const std::size_t j = std::size_t(std::find(map.y.begin(), map.y.end(),
                                                c["depth"].get<double>()) - map.y.begin());
    if (i >= map.x.size() || j >= map.y.size()) fail("report: a phase-diagram cell off its grid");
    map.z[i][j] = std::log10(number_or_nan(c["total_gain"]));
    csv += fmt::format("{},{},{},{},{}\n", field(map.x[i]), c["depth"].get<long>(),
                       field(map.z[i][j]), field(number_or_nan(c["chi1"])),
                       field(number_or_nan(c["xi"])));
  }

  PlotSeries curve{"L = 6|xi| (mean-field theory)", {}, {}, 0, false};
  std::string theory_csv = "sigma_w2,chi1,xi,six_abs_xi\n";
  const int samples = 400;
  for (int k = 0; k <= samples; ++k) {
    const double w2 = map.x.front() + (map.x.back() - map.x.front()) * k / samples;
    const MeanField mf = mean_field(tanh_op.op, tanh_op.attr, w2, sigma_b2);
    curve.x.push_back(w2);
    curve.y.push_back(6 * std::abs(mf.depth_scale));
    theory_csv += fmt::format("{},{:.8g},{},{}\n", field(w2), mf.chi1, field(mf.depth_scale),
                              field(curve.y.back()));
  }
  map.curves.push_back(curve);
  r.write("phase-diagram-theory.csv", theory_csv);
  r.plot("phase-diagram",
         "log10 of the measured gradient attenuation over sigma_w^2 and depth (white: none), with "
         "mean-field theory's depth scale L = 6|xi| (black)",
         map, csv);

  // Where the measured attenuation first reaches e^3, beside 6|ξ| at that σ_w².
  std::vector<std::string> rows;
  for (std::size_t i = 0; i < map.x.size(); ++i) {
    const double xi = mean_field(tanh_op.op, tanh_op.attr, map.x[i], sigma_b2).depth_scale;
    std::string measured = fmt::format("beyond {}", map.y.back());
    for (std::size_t j = 1; j < map.y.size(); ++j) {
      const double a = std::abs(map.z[i][j - 1]), b = std::abs(map.z[i][j]);
      if (a < kSixXiLog10 && b >= kSixXiLog10) {
        const double at = map.y[j - 1] + (map.y[j] - map.y[j - 1]) * (kSixXiLog10 - a) / (b - a);
        measured = fmt::format("{:.0f}", at);
        break;
      }
      if (j == 1 && a >= kSixXiLog10) measured = fmt::format("below {}", map.y.front());
    }
    rows.push_back(fmt::format("sigma_w^2 = {:.3g}: {} (6|xi| = {:.3g})", map.x[i], measured,
                               std::isfinite(xi) ? 6 * std::abs(xi) : INFINITY));
  }
  const std::string words = fmt::format(
      "Phase diagram (tanh, sigma_b^2 = {}): the depth at which the measured gradient has changed "
      "by e^3, against theory's 6|xi|: {}.",
      sigma_b2, fmt::join(rows, "; "));
  r.state(words);
  r.page.preformatted(table);
}

struct Density {
  std::vector<double> x, y;
  std::size_t below = 0;  // values under the first bin
};

// The density of log10 s² in bins of 1/3 decade centred on 10^lowest, ..., 10^highest, so that
// s² = 1 is the middle of one.
Density log_density(const std::vector<double>& s2, int lowest, int highest) {
  Density d;
  const double width = 1.0 / 3, lo = lowest - width / 2;
  const int bins = 3 * (highest - lowest) + 1;
  std::vector<double> count(std::size_t(bins), 0);
  for (double v : s2) {
    const double at = (std::log10(v) - lo) / width;
    if (!(at >= 0)) ++d.below;
    else ++count[std::min(std::size_t(at), count.size() - 1)];
  }
  for (int b = 0; b < bins; ++b) {
    d.x.push_back(std::pow(10, lo + (b + 0.5) * width));
    d.y.push_back(count[std::size_t(b)] / double(s2.size()) / width);
  }
  return d;
}

// Pennington, Schoenholz & Ganguli 2017: at the edge of chaos the Jacobian's mean s² is 1 at
// any depth, but only orthogonal weights keep the whole spectrum near 1 (dynamical isometry).
void spectra(Report& r, bool full) {
  r.page.heading("6. Dynamical isometry: the input-output Jacobian's singular values");
  study::Grid g =
      report_grid({"identity", "relu", "tanh"}, {"critical", "orthogonal"}, 0, {32}, 256,
                  full ? 6 : 2);
  g.spectrum = true;
  r.page.paragraph(fmt::format(
      "{} layers of {} units at the edge of chaos with sigma_b^2 = 0 (critical: Gaussian weights "
      "with sigma_w^2 = 1 for the identity and tanh, 2 for relu, i.e. He), or with orthogonal "
      "weights; the squared singular values s^2 of the Jacobian da_L/dx at one input, by exact "
      "SVD, pooled over {} seeds (the sweep JSON's jacobian_s2). Relu with orthogonal weights "
      "(sigma_w^2 = 1) is off the edge of chaos, its s^2 collapsing like 2^-L, and is left out "
      "of the plot. At sigma_b^2 = 0 the forward variance of the tanh networks shrinks toward 0 "
      "only like 1/l, so their chi_1 stays below 1 and their mean s^2 falls with depth; "
      "Pennington et al. take sigma_b^2 small but positive to sit at a variance q* > 0.",
      g.depths.front(), g.widths.front(), g.repeats));
  std::string table;
  const json doc = r.sweep(g, "spectra-sweep", table);

  LinePlot p;
  p.title = fmt::format("Jacobian spectra, depth {}, width {}", g.depths.front(),
                        g.widths.front());
  p.xlabel = "s^2";
  p.ylabel = "density of log10 s^2";
  p.log_x = true;
  p.log_y = true;
  const int lowest = -12;  // log10 s²: products of Gaussian layers reach s² = 0 exactly
  std::string csv = "act,init,s2_bin_centre,density\n";
  for (const auto& c : doc["cells"]) {
    const std::string act = c["act"], init = c["init"];
    const double mean = number_or_nan(c["jacobian_s2_mean"]);
    const double ratio = number_or_nan(c["jacobian_s2_var"]) / (mean * mean);
    const std::string name = act + ", " + (init == "critical" ? "Gaussian" : init);
    if (act == "relu" && init == "orthogonal") continue;
    std::vector<double> s2;
    for (const auto& v : c["jacobian_s2"]) s2.push_back(number_or_nan(v));
    const Density d = log_density(s2, lowest, 3);
    p.series.push_back({name, d.x, d.y, 0, false});
    for (std::size_t b = 0; b < d.x.size(); ++b)
      csv += fmt::format("{},{},{:.6g},{:.6g}\n", act, init, d.x[b], d.y[b]);
    const std::string words = fmt::format(
        "Spectrum of {} at depth {}: mean s^2 {:.3g}, var(s^2)/mean(s^2)^2 = {:.3g}, largest s^2 "
        "{:.3g}{}.",
        name, g.depths.front(), mean, ratio, s2.empty() ? NAN : s2.back(),
        d.below ? fmt::format(", {:.0f}% of s^2 below 1e{}", 100.0 * d.below / s2.size(), lowest)
                : "");
    r.state(words);
  }
  r.plot("spectra",
         "the density of the squared singular values of the input-output Jacobian, one line per "
         "network; dynamical isometry is all of them at s^2 = 1",
         p, csv);
  r.page.preformatted(table);
}
}  // namespace

void theory_section(Report& r, bool full) {
  phase_diagram(r, full);
  spectra(r, full);
}

}  // namespace gradscope::cli
