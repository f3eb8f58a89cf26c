// Section 4 of `gradscope report`: wide random networks measured beside mean-field theory.
#include <cmath>
#include <string>

#include "report.hpp"

namespace gradscope::cli {

// Wide random networks as they are initialised in practice (gradscope sweep): each layer's
// measured rms(dL/dz) beside mean-field theory's prediction, the post's picture at width.
void sweep_section(Report& r, bool full) {
  r.page.heading("4. A sweep: wide networks, measured beside mean-field theory");
  const study::Grid g =
      report_grid({"relu", "tanh"}, {"he", "xavier"}, 0, {full ? 50L : 20L}, full ? 256 : 128,
                  full ? 5 : 3);
  std::string text;
  const json doc = r.sweep(g, "sweep", text);
  const long depth = g.depths.front();
  r.page.paragraph(fmt::format(
      "{} layers of {} units on random unit-variance inputs, {} seeds per network, one backward "
      "pass each. The gain is the measured rms(dL/dz) of a layer over the next one's; the theory "
      "is mean-field signal propagation, sqrt(chi_1) with chi_1 = sigma_w^2 E[phi'(h)^2] at the "
      "fixed point of the forward variance. Dashed: the theory's rms(dL/dz) per layer, from the "
      "output layer down.",
      depth, g.widths.front(), g.repeats));
  LinePlot p;
  p.title = fmt::format("rms(dL/dz) per layer of {} x {} networks: measured and theory", depth,
                        g.widths.front());
  p.xlabel = fmt::format("layer ({} = output)", depth);
  p.ylabel = "rms dL/dz";
  p.log_y = true;
  p.reverse_x = true;
  std::string csv = "act,init,layer,rms_dz,rms_dz_theory\n";
  int colour = 0;
  for (const auto& c : doc["cells"]) {
    const std::string name = c["act"].get<std::string>() + ", " + c["init"].get<std::string>();
    const double theory = number_or_nan(c["gain_theory"]);
    const auto& rms = c["rms_dz"];
    PlotSeries measured{name, {}, {}, ++colour, false};
    PlotSeries predicted{name + " (theory)", {}, {}, colour, true};
    for (std::size_t l = 0; l < rms.size(); ++l) {
      const double at_output = number_or_nan(rms.back());
      const double expected = at_output * std::pow(theory, double(rms.size() - 1 - l));
      measured.x.push_back(double(l + 1));
      measured.y.push_back(number_or_nan(rms[l]));
      predicted.x.push_back(double(l + 1));
      predicted.y.push_back(expected);
      csv += fmt::format("{},{},{},{:.10g},{:.10g}\n", c["act"].get<std::string>(),
                         c["init"].get<std::string>(), l + 1, measured.y.back(), expected);
    }
    p.series.push_back(measured);
    p.series.push_back(predicted);
    const std::string words = fmt::format(
        "{} with {} initialisation: measured gain {:.3f} per layer, theory {:.3f}; {:.3g} "
        "across the {} layers: {}.",
        c["act"].get<std::string>(), c["init"].get<std::string>(), number_or_nan(c["gain"]), theory,
        number_or_nan(c["total_gain"]), depth, c["verdict"].get<std::string>());
    r.state(words);
  }
  r.plot("sweep-layers",
         "rms(dL/dz) per layer from the output (left) to the input: measured (solid) beside "
         "mean-field theory (dashed)",
         p, csv);
  r.page.preformatted(text);
}

}  // namespace gradscope::cli
