// `gradscope report --out DIR`: the blog post's study end to end on one page. Runs the post's
// demos (ReLU and sigmoid), compare (its derivations, the sigmoid bug caught), train, a small
// sweep and the architectures' demos (residual, layer norm, RNN, LSTM) through the commands' own
// functions, with their outputs in DIR, then plots the per-layer gradients, the gradient history
// of training, the loss curve, the sweep beside theory and the architectures' gradients, and
// writes DIR/index.html. DIR is written
// completely or not at all (writers/output_dir.hpp).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "progress.hpp"
#include "report.hpp"

namespace gradscope::cli {

namespace {
struct ReportOptions {
  std::string out;
  bool full = false;
  long iters = 0;  // 0: 10,000, or the post's 50,000 with --full
};

std::string verdict_words(const json& doc, const std::string& net) {
  const auto& d = doc["diagnosis"];
  auto num = [](const json& x) {
    return x.is_number() ? fmt::format("{:.3g}", x.get<double>()) : std::string("n/a");
  };
  const std::string v = doc["verdict"].is_string() ? doc["verdict"].get<std::string>() : "unknown";
  return fmt::format(
      "{}: the gradient dL/dz changes by a factor of {} per layer on its way to the input "
      "(mean-field theory from the forward pass and weights: {}), {} from the output layer to the "
      "first in all. Verdict: {}.",
      net, num(doc["measured_gain"]), num(doc["theory_gain"]), num(d["total_gain"]), v);
}

// The post's first two experiments, and its derivations checked.
void demos(Report& r) {
  r.page.heading("1. The post's demos: one backward pass through 10 layers of 2 units");
  r.page.paragraph(
      "The network of the post: 9 hidden layers with w = 0.8 I, a sigmoid output with w = [1, 1], "
      "b = 0, two Gaussian clusters of 10 points each. dz of each layer is the next layer's dz "
      "times its weights times the activation's derivative, so with the ReLU it shrinks by 0.8 per "
      "layer, and with the sigmoid (whose derivative is at most 0.25) by far more.");
  for (const std::string act : {"relu", "sigmoid"}) {
    DemoOptions d;
    d.net.act = act;
    d.out.json = r.dir.file("demo-" + act + ".json");
    d.out.dot = r.dir.file("demo-" + act + ".dot");
    d.out.collapse = true;  // one node per layer: readable at the width of the page
    const std::string text = r.run([&] { run_demo(d); });
    const std::string words =
        verdict_words(read_json(d.out.json, "report"), act == "relu" ? "ReLU net" : "Sigmoid net");
    r.state(words);
    r.page.preformatted(text);
    r.graph("demo-" + act,
            "the " + act +
                " net's graph after backward, one node per layer, coloured by its gradient's "
                "magnitude (blue: vanishing, red: exploding)");
  }
}

void compare(Report& r, json& doc) {
  r.page.heading("2. The post's hand-derived backward passes, checked");
  CompareOptions c;
  c.out.json = r.dir.file("compare.json");
  const std::string text = r.run([&] { run_compare(c); });
  doc = read_json(c.out.json, "report");
  for (const auto& d : doc["derivations"]) {
    const std::string name = d["derivation"];
    std::string words;
    if (d["agrees"].get<bool>()) {
      words = fmt::format("{} agrees with autodiff at every node of the {} net.", name,
                          d["activation"].get<std::string>());
    } else {
      const auto& w = d["first_wrong"];
      words = fmt::format(
          "{} disagrees with autodiff from node {} on: the hand-derived gradient has norm {:.3g} "
          "where autodiff (and finite differences) give {:.3g}.",
          name, w["node"].get<std::string>(), w["hand_norm"].get<double>(),
          w["autodiff_norm"].get<double>());
      if (name == "post-sigmoid")
        words +=
            " This is the post's bug, caught: its sigmoid backward pass reuses the ReLU's "
            "derivative, so the gradients it prints shrink by 0.8 per layer instead of about "
            "0.8 x sigma'(z).";
      r.page.note(words);
    }
    fmt::print("{}\n", words);
    r.page.finding(words);
    if (d["agrees"].get<bool>()) r.page.paragraph(words);
  }
  r.page.preformatted(text);
}

// ‖dL/dz‖ per layer of one derivation in compare's document: the hand-derived or autodiff's.
PlotSeries layer_series(const json& compare_doc, const std::string& derivation, const char* which,
                        const std::string& title) {
  PlotSeries s{title, {}, {}};
  for (const auto& d : compare_doc["derivations"])
    if (d["derivation"] == derivation)
      for (const auto& n : d["nodes"]) {
        const std::string node = n["node"];
        if (node.rfind("layer", 0) != 0 || node.size() < 2 || node.substr(node.size() - 2) != "/z")
          continue;
        s.x.push_back(std::stod(node.substr(5)));
        s.y.push_back(number_or_nan(n[which]));
      }
  return s;
}

void layer_plot(Report& r, const json& compare_doc) {
  LinePlot p;
  p.title = "gradient norm per layer, 10 layers x 2 units, w = 0.8 I";
  p.xlabel = "layer (10 = output)";
  p.ylabel = "||dL/dz||";
  p.log_y = true;
  p.reverse_x = true;
  p.series = {
      layer_series(compare_doc, "post-relu", "autodiff_norm", "ReLU"),
      layer_series(compare_doc, "corrected-sigmoid", "autodiff_norm", "sigmoid"),
      layer_series(compare_doc, "post-sigmoid", "hand_norm", "sigmoid as the post printed it")};
  std::string csv = "configuration,layer,grad_norm\n";
  for (const auto& s : p.series)
    for (std::size_t i = 0; i < s.x.size(); ++i)
      csv += fmt::format("{},{},{:.10g}\n", s.title, s.x[i], s.y[i]);
  r.plot(
      "layer-gradients",
      "||dL/dz|| per layer, from the output (left) to the input: the ReLU net loses a factor 0.8 "
      "per layer, the sigmoid net far more; the post's printed sigmoid gradients follow the "
      "ReLU's slope",
      p, csv);
}

void training(Report& r, long iters) {
  r.page.heading("3. Training: the post's third experiment");
  auto logger = console_logger("report");
  logger->set_level(spdlog::level::off);  // the page shows the monitor's findings
  MonitorOptions mo;
  mo.logger = logger;
  mo.history_capacity = 256;
  GradientMonitor<double> monitor(mo);
  TrainCmdOptions t = train_defaults();
  t.iters = iters;
  t.history_every = std::max(1L, iters / 200);
  t.monitor = &monitor;
  t.out.json = r.dir.file("train.json");
  t.out.dot = r.dir.file("train.dot");
  t.out.collapse = true;
  if (r.gnuplot) t.plot = r.dir.file("decision-surface.svg");
  const std::string text = r.run([&] { run_train(t); });
  monitor.write_csv(r.dir.file("monitor.csv"));
  const json doc = read_json(t.out.json, "report");
  const std::string words = fmt::format(
      "Full-batch gradient descent, {} iterations, learning rate {}: the 10-layer network reaches "
      "loss {:.4g} and {:.2f}% accuracy, logistic regression loss {:.4g} and {:.2f}%. After "
      "training: {}",
      iters, t.lr, doc["network"]["final_loss"].get<double>(),
      100 * doc["network"]["accuracy"].get<double>(), doc["baseline"]["final_loss"].get<double>(),
      100 * doc["baseline"]["accuracy"].get<double>(), verdict_words(doc, "the trained network"));
  r.state(words);

  LinePlot loss;
  loss.title = "training loss";
  loss.xlabel = "iteration";
  loss.ylabel = "mean binary cross-entropy";
  loss.log_y = true;
  std::string csv = "model,iteration,loss\n";
  for (const auto& [key, title] : {std::pair{"network", "10 x 2 ReLU network"},
                                   std::pair{"baseline", "logistic regression"}}) {
    PlotSeries s{title, {}, {}};
    for (const auto& h : doc[key]["loss_history"]) {
      s.x.push_back(h["iteration"].get<double>());
      s.y.push_back(h["loss"].get<double>());
      csv += fmt::format("{},{},{:.10g}\n", title, s.x.back(), s.y.back());
    }
    loss.series.push_back(s);
  }
  r.plot("loss", "the loss of both models while training", loss, csv);

  HeatMap map;
  map.title = "rms of dL/dz per layer while training";
  map.xlabel = "iteration";
  map.ylabel = "layer";
  map.zlabel = "rms dL/dz";
  map.log_z = true;
  const auto& history = monitor.history();
  const std::size_t units = history.empty() ? 0 : history.back().units.size();
  for (std::size_t u = 0; u < units; ++u) map.y.push_back(double(u + 1));
  for (const auto& e : history) {
    if (e.units.size() != units) continue;
    map.x.push_back(double(e.pass - 1));  // pass p follows p - 1 steps
    std::vector<double> column;
    for (const auto& unit : e.units) column.push_back(unit.kind[std::size_t(GradKind::Z)].rms);
    map.z.push_back(column);
  }
  r.plot("gradient-history",
         "the gradient monitor's history: rms of dL/dz of each layer (1 = next to the input) over "
         "the training iterations",
         map);
  if (r.gnuplot)
    r.page.image("decision-surface.svg",
                 "P(class 1) over [-10, 30]^2 after training: the network beside logistic "
                 "regression, as in the post's last figure");
  else
    r.graph_missing("decision-surface.svg", "decision surfaces", kGnuplotMissing);
  r.graph("train",
          "the trained network's graph, one node per layer, coloured by gradient magnitude");
  r.page.preformatted(text);
}

void run_report(const ReportOptions& o) {
  if (o.iters < 0) fail("--iters must be at least 0, got {}", o.iters);
  Report r(o.out);
  const long iters = o.iters ? o.iters : o.full ? 50000 : 10000;
  Progress progress("report", 7, "steps");
  r.page.paragraph(fmt::format(
      "Written by gradscope {} (gradscope report{}{}). Every table below is the output of one "
      "gradscope command, every picture has its data beside this page (CSV, JSON, DOT, gnuplot "
      "scripts).",
      GRADSCOPE_VERSION, o.full ? " --full" : "",
      o.iters ? fmt::format(" --iters {}", o.iters) : std::string()));
  if (!r.gnuplot) r.page.note("Plots are missing: " + std::string(kGnuplotMissing) + ".");
  if (!r.graphviz)
    r.page.note("Graph pictures are missing: " + std::string(kGraphvizMissing) + ".");
  json compare_doc;
  progress.update(0, "demos");
  demos(r);
  progress.update(1, "compare");
  compare(r, compare_doc);
  layer_plot(r, compare_doc);
  progress.update(2, "train");
  training(r, iters);
  progress.update(3, "sweep");
  sweep_section(r, o.full);
  progress.update(4, "theory");
  theory_section(r, o.full);
  progress.update(5, "architectures");
  architectures_section(r, o.full);
  progress.update(6, "page");
  r.page.heading("Files");
  r.page.paragraph("Everything this page was made from:");
  r.page.file_list(r.dir.files());
  r.write("index.html", r.page.html());
  r.dir.commit();
  progress.finish();
  for (const auto& m : r.missing) fmt::print(stderr, "gradscope: note: not drawn: {}\n", m);
  fmt::print("wrote {}index.html and the files it shows; open it in a browser\n", r.shown_dir);
}
}  // namespace

void add_report(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand(
      "report",
      "Run the blog post's study end to end (demo with ReLU and sigmoid, compare, train, a small "
      "sweep, residual, layer-norm and recurrent networks) and "
      "write DIR/index.html with the tables, verdicts, plots and graph pictures, and every file "
      "they came from. DIR is created, or replaced if it holds a previous report");
  cmd->add_option("--out", o->out, "the report's directory")->required();
  cmd->add_flag("--full", o->full,
                "train for the post's 50,000 iterations (default 10,000), a larger sweep");
  add_integer_option(*cmd, "--iters", o->iters, "training iterations (0: the default)");
  cmd->callback([o] { run_report(*o); });
}

}  // namespace gradscope::cli
