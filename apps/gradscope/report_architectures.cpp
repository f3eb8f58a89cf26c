// Section 7 of `gradscope report`: the remedies (residual blocks, layer normalisation) and
// recurrent networks through time, each a real run of `gradscope demo` diagnosed like any stack.
#include <string>
#include <vector>

#include "report.hpp"

namespace gradscope::cli {

namespace {
std::string num(const json& x, const char* format = "{:.3g}") {
  return x.is_number() ? fmt::format(fmt::runtime(format), x.get<double>()) : std::string("n/a");
}

// One demo run into DIR/<stem>.json; its printed report on the page, its document returned.
json demo(Report& r, DemoOptions d, const std::string& stem) {
  d.out.json = r.dir.file(stem + ".json");
  r.page.preformatted(r.run([&] { run_demo(d); }));
  return read_json(d.out.json, "report");
}

// A deep stack's rms(dL/dz) per unit, from the demo's diagnosis, as a plot series and CSV rows.
PlotSeries unit_series(const json& doc, const std::string& title, std::string& csv) {
  PlotSeries s{title, {}, {}};
  for (const auto& l : doc["diagnosis"]["layers"]) {
    s.x.push_back(l["layer"].get<double>());
    s.y.push_back(number_or_nan(l["grad_rms"]));
    csv += fmt::format("{},{},{:.10g}\n", title, s.x.back(), s.y.back());
  }
  return s;
}

// Two deep stacks of 50 x 64 (the second the remedy), one plot of rms(dL/dz) per unit.
void stacks(Report& r, const std::string& stem, const std::string& what,
            const std::vector<std::pair<std::string, DemoOptions>>& runs) {
  LinePlot p{"rms(dL/dz) per unit, 50 x 64: " + what, "unit (50 = output)", "rms dL/dz", true, true,
             {}};
  std::string csv = "network,unit,rms_dz\n";
  for (const auto& [name, options] : runs) {
    const json doc = demo(r, options, stem + "-" + std::to_string(p.series.size() + 1));
    p.series.push_back(unit_series(doc, name, csv));
    r.state(fmt::format("{}, 50 units of 64: the gradient changes by {} per unit, {} from the "
                        "output to the input in all. Verdict: {}.",
                        name, num(doc["measured_gain"], "{:.4g}"),
                        num(doc["diagnosis"]["total_gain"]), doc["verdict"].get<std::string>()));
  }
  r.plot(stem, "rms(dL/dz) per unit from the output (left) to the input: " + what, p, csv);
}

DemoOptions deep(const std::string& act, const std::string& init) {
  DemoOptions d;
  d.net.act = act;
  d.net.init = init;
  d.net.depth = 50;
  d.net.width = 64;
  d.net.samples = 100;
  return d;
}

DemoOptions recurrent(const std::string& arch, const std::string& act, double scale, long steps) {
  DemoOptions d;
  d.net.arch = arch;
  d.net.act = act;
  d.net.width = 64;
  d.rec.steps = steps;
  d.rec.rec_scale = scale;
  return d;
}
}  // namespace

void architectures_section(Report& r, bool full) {
  r.page.heading("7. Beyond the plain MLP: residual blocks, layer normalisation, recurrence");
  r.page.paragraph(
      "The remedies change the architecture, not the initialisation, and the diagnosis reads a "
      "residual block or a time step as one unit like a layer (docs/architectures.md, "
      "docs/recurrent.md).");
  DemoOptions residual = deep("relu", "xavier");
  residual.net.arch = "residual";
  DemoOptions normalised = deep("tanh", "normal");
  normalised.net.norm = "layer";
  const struct {
    const char *intro, *stem, *what;
    std::vector<std::pair<std::string, DemoOptions>> runs;
  } pairs[] = {
      {"Plain against residual (He et al. 2016 in miniature): ReLU, Xavier initialisation "
       "(variance 1/n, half what ReLU needs), the post's two clusters of 100 points.",
       "architectures-residual",
       "plain against residual, ReLU, Xavier",
       {{"plain ReLU stack", deep("relu", "xavier")}, {"residual ReLU stack", residual}}},
      {"Layer normalisation in a deep tanh stack: weights N(0, 0.1^2) (sigma_w^2 = 0.64 at width "
       "64), the same weights and data with and without normalising each layer's Wa + b.",
       "architectures-norm",
       "tanh, with and without layer norm",
       {{"plain tanh stack", deep("tanh", "normal")}, {"layer-normalised tanh stack", normalised}}}};
  for (const auto& pair : pairs) {
    r.page.paragraph(pair.intro);
    stacks(r, pair.stem, pair.what, pair.runs);
  }

  r.page.paragraph(
      "A linear RNN with W_rec = s Q, Q orthogonal, width 64, 100 steps (Pascanu, Mikolov & "
      "Bengio 2013): going back one step multiplies the gradient by exactly s, and Pascanu's "
      "bound sigma_max(W_rec) x sup|phi'| is s too.");
  LinePlot p{"|dL/dh_t| per step, linear RNN, W_{rec} = s Q, T = 100", "step t", "|dL/dh_t|",
             true, false, {}};
  std::string csv = "s,step,grad_norm\n";
  for (const double s : {0.9, 1.1}) {
    const json doc = demo(r, recurrent("rnn", "identity", s, 100),
                          fmt::format("architectures-linear-rnn-{}", s));
    const json& t = doc["through_time"];
    PlotSeries series{fmt::format("s = {}", s), {}, {}};
    for (const auto& n : t["grad_norm_per_step"]) {
      series.x.push_back(double(series.x.size() + 1));
      series.y.push_back(number_or_nan(n));
      csv += fmt::format("{},{},{:.10g}\n", s, series.x.back(), series.y.back());
    }
    p.series.push_back(series);
    r.state(fmt::format("Linear RNN, s = {}: per-step gain {} beside s = {} and Pascanu's bound "
                        "{}; |dL/dh_1|/|dL/dh_100| = {}. Verdict: {}.",
                        s, num(doc["per_step_gain"], "{:.6g}"), s,
                        num(t["pascanu_bound"], "{:.6g}"), num(t["first_to_last"]),
                        doc["verdict"].get<std::string>()));
  }
  r.plot("architectures-linear-rnn",
         "|dL/dh_t| per step of the linear RNN: it shrinks by 0.9 per step back from t = 100 "
         "for s = 0.9 and grows by 1.1 for s = 1.1",
         p, csv);

  r.page.paragraph(
      "The adding problem (Hochreiter & Schmidhuber 1997): a vanilla tanh RNN against an LSTM, "
      "both of width 64 with an orthogonal W_rec, one backward pass on 10 generated sequences. "
      "What matters is how much of the gradient at the last step reaches the first, where a "
      "marked number may be. At initialisation the LSTM passes back no more of it than the RNN; "
      "its advantage is what training makes of its cell state (docs/recurrent.md: trained on T = "
      "50 it falls below 0.01 mean squared error, the RNN stays at the mean's).");
  for (const long steps : full ? std::vector<long>{50, 100} : std::vector<long>{50})
    for (const std::string arch : {"rnn", "lstm"}) {
      const json doc = demo(r, recurrent(arch, "tanh", 1, steps),
                            fmt::format("architectures-adding-{}-{}", arch, steps));
      r.state(fmt::format("Adding problem, T = {}, {}: the gradient reaching t = 1 is {} of the "
                          "one at t = T (per-step gain {}). Verdict: {}.",
                          steps, arch == "rnn" ? "vanilla tanh RNN" : "LSTM",
                          num(doc["through_time"]["first_to_last"]),
                          num(doc["per_step_gain"], "{:.4g}"), doc["verdict"].get<std::string>()));
    }
}

}  // namespace gradscope::cli
