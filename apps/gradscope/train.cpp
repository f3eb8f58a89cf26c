// `gradscope train`: the post's third experiment. Full-batch gradient descent of the deep narrow
// ReLU net on two well separated clusters, beside logistic regression trained the same way.
#include <chrono>
#include <filesystem>
#include <gradscope/writers/atomic_file.hpp>
#include <gradscope/writers/gnuplot.hpp>
#include <gradscope/writers/printable.hpp>
#include <memory>

#include "cli.hpp"
#include "progress.hpp"

namespace gradscope::cli {

namespace {
// --arch rnn|lstm: minibatches of 50 sequences, the test MSE every --history-every steps.
void run_recurrent(const TrainCmdOptions& o) {
  if (!o.plot.empty()) fail("--plot draws the MLP's decision surfaces; it needs --arch mlp");
  models::SequenceTrainOptions t;
  t.iterations = std::size_t(o.iters_given && o.iters_given->count() ? o.iters : 2000);
  t.lr = o.lr;
  t.optimizer = o.optimizer;
  t.eval_every = std::size_t(o.history_every);
  run_recurrent_train(o.net, o.rec, o.out, t);
}

// Progress on stderr (progress.hpp), updated at each recorded loss.
models::TrainOptions train_options(const TrainCmdOptions& o, Progress& progress) {
  models::TrainOptions t;
  t.iterations = std::size_t(o.iters);
  t.lr = o.lr;
  t.optimizer = o.optimizer;
  t.history_every = std::size_t(o.history_every);
  t.on_record = [&progress](std::size_t it, double loss) {
    progress.update(it, fmt::format("loss {:.6g}", loss));
  };
  return t;
}

// The post's last figure: each model's P(class 1) as a surface over [-10, 30]², with the training
// points at the height of their label, as a gnuplot script with its data. The script holds no
// path: it writes the image beside itself under its own name (ARG0), or to `out` when given, so
// it renders the same in a private directory (plot.gp -> plot.svg) and when re-run by the user.
std::string surface_script(const TrainCmdOptions& o, models::Network<double>& net,
                           models::Mlp<double>& baseline, const models::Dataset& data,
                           const std::string& ext) {
  constexpr int kSteps = 40;
  constexpr double kLo = -10, kHi = 30;
  Eigen::MatrixXd grid(2, (kSteps + 1) * (kSteps + 1));
  for (int i = 0, k = 0; i <= kSteps; ++i)
    for (int j = 0; j <= kSteps; ++j, ++k)
      grid.col(k) << kLo + (kHi - kLo) * i / kSteps, kLo + (kHi - kLo) * j / kSteps;
  auto block = [&](const char* name, const Eigen::MatrixXd& p) {
    std::string b = fmt::format("${} << EOD\n", name);
    for (Eigen::Index k = 0; k < grid.cols(); ++k) {
      b += fmt::format("{} {} {:.6g}\n", grid(0, k), grid(1, k), p(0, k));
      if ((k + 1) % (kSteps + 1) == 0) b += "\n";  // one scan line per x₁
    }
    return b + "EOD\n";
  };
  std::string points[2];
  for (Eigen::Index k = 0; k < data.samples(); ++k)
    points[data.y(0, k) != 0] +=
        fmt::format("{} {} {}\n", data.x(0, k), data.x(1, k), data.y(0, k));
  std::string script = fmt::format(
      "# gradscope train: P(class 1) of each model after training, over [-10, 30]^2.\n"
      "# Render with: gnuplot THIS.gp (writes THIS{0} beside it), or gnuplot -e "
      "\"out='other{0}'\" THIS.gp\n",
      ext);
  script += block("network", models::predict(net, grid));
  script += block("logistic", models::predict(baseline, grid));
  script += "$class0 << EOD\n" + points[0] + "EOD\n$class1 << EOD\n" + points[1] + "EOD\n";
  script += gnuplot_output_header(ext, 1200, 560);
  script += fmt::format(
      "set multiplot layout 1,2 title 'decision surfaces after {} {} steps, lr {}'\n"
      "set xrange [{}:{}]; set yrange [{}:{}]; set zrange [0:1]; set cbrange [0:1]\n"
      "set xlabel 'x_1'; set ylabel 'x_2'; set zlabel 'P(y=1)' rotate parallel\n"
      "set ticslevel 0; set view 60, 300; unset colorbox\n"
      "set pm3d depthorder border lc rgb '#555555' lw 0.3\n"
      "set palette defined (0 '#2166ac', 0.5 '#f7f7f7', 1 '#b2182b')\n"
      "points = \"$class0 with points pt 7 ps 0.35 lc rgb '#08306b' title 'label 0', \" . "
      "\"$class1 with points pt 7 ps 0.35 lc rgb '#67000d' title 'label 1'\"\n"
      "set title '{}'\n"
      "splot $network with pm3d notitle, @points\n"
      "set title 'logistic regression'\n"
      "splot $logistic with pm3d notitle, @points\n"
      "unset multiplot\n",
      o.iters, o.optimizer, o.lr, kLo, kHi, kLo, kHi, describe_network(o.net));
  return script;
}

json result_json(const models::TrainResult& r, double seconds) {
  json history = json::array();
  for (const auto& p : r.history) history.push_back({{"iteration", p.iteration}, {"loss", p.loss}});
  return {{"final_loss", r.final_loss},
          {"accuracy", r.accuracy},
          {"seconds", seconds},
          {"loss_history", history}};
}

}  // namespace

void run_train(const TrainCmdOptions& o) {
  if (o.iters < 0) fail("--iters must be at least 0, got {}", o.iters);
  if (o.history_every < 1) fail("--history-every must be at least 1, got {}", o.history_every);
  require_positive("--lr", o.lr);
  if (is_recurrent(o.net)) return run_recurrent(o);
  Outputs outputs(o.out, o.net);
  const std::string plot = printable_path(o.plot);
  const std::string ext = std::filesystem::path(o.plot).extension().string();
  const std::string script = std::filesystem::path(o.plot).replace_extension(".gp").string();
  if (o.plot == "-")
    fail("--plot -: the image's format comes from its extension (.svg or .png); give a file");
  if (!o.plot.empty()) {
    if (ext != ".svg" && ext != ".png")
      fail("--plot {}: unknown format '{}' (use .svg or .png)", plot, ext);
    outputs.files().add_output("--plot", o.plot);
    outputs.files().add_output("--plot " + plot + " writes its script", script);
  }
  const models::Dataset data = make_data(o.net);
  if (!o.plot.empty()) {
    if (data.features() != 2)
      fail("--plot {}: the surface plot needs 2 features, the data has {}", plot, data.features());
    if (!find_program("gnuplot"))
      fail("--plot {}: gnuplot is not on PATH (install gnuplot-nox)", plot);
  }
  auto net = build_network(o.net, data);
  auto baseline = models::logistic_regression<double>(data.features());
  models::make_optimizer<double>(o.optimizer, baseline.parameters(), o.lr);  // reject bad names now

  Pass initial;  // the untrained network's gradients, for the diagnosis before training
  run_pass(*net, data, initial);
  const Diagnosis before = diagnose(initial.graph);

  using clock = std::chrono::steady_clock;
  auto timed = [&](models::Network<double>& m, const char* label, double& seconds,
                   Observer<double>* observer) {
    const auto t0 = clock::now();
    try {
      Progress progress(label, std::size_t(o.iters), "it");
      auto options = train_options(o, progress);
      options.observer = observer;
      auto r = models::train(m, data, options);
      progress.finish(fmt::format("loss {:.6g}", r.final_loss));
      seconds = std::chrono::duration<double>(clock::now() - t0).count();
      return r;
    } catch (const Error& e) {
      fail("{}: {}", label, e.what());  // which of the two models diverged
    }
  };
  double net_s = 0, base_s = 0;
  const auto net_r = timed(*net, "network", net_s, o.monitor);
  const auto base_r = timed(baseline, "logistic regression", base_s, nullptr);

  fmt::print("train: {}, sigmoid output; {} samples; {} x {} steps, lr {}\n",
             describe_network(o.net), data.samples(), o.iters, o.optimizer, o.lr);
  Table t({"model", "final loss", "accuracy", "seconds"});
  t.add_row({"network", fmt::format("{:.6g}", net_r.final_loss),
             fmt::format("{:.2f}%", 100 * net_r.accuracy), fmt::format("{:.1f}", net_s)});
  t.add_row({"logistic regression", fmt::format("{:.6g}", base_r.final_loss),
             fmt::format("{:.2f}%", 100 * base_r.accuracy), fmt::format("{:.1f}", base_s)});
  t.print();

  // Gradients of the trained network, in the post's table.
  Pass pass;
  run_pass(*net, data, pass);
  const auto layers = layer_reports(pass, data.samples());
  fmt::print("\ngradients after training (dz of sample 0 times m; dw, db of the mean loss):\n");
  print_layer_table(layers);
  const Diagnosis after = diagnose(pass.graph);
  print_diagnosis(before, "gradient diagnosis before training");
  print_diagnosis(after, "gradient diagnosis after training");
  json config = config_json(o.net, data);
  config["iterations"] = o.iters;
  config["lr"] = o.lr;
  config["optimizer"] = o.optimizer;
  json doc = {{"command", "train"},
              {"config", config},
              {"network", result_json(net_r, net_s)},
              {"baseline", result_json(base_r, base_s)},
              {"dz_convention", "sample 0, multiplied by the number of samples m (post's a - y)"},
              {"layers", layers_json(layers)}};
  add_diagnosis(doc, after);
  doc["diagnosis_before_training"] = diagnosis_json(before);
  if (!o.plot.empty()) {
    Building b("plotting the decision surfaces");
    const std::string text = surface_script(o, *net, baseline, data, ext);
    outputs.set(o.plot, render_gnuplot(text, ext, "--plot " + plot));
    outputs.set(script, text);
  }
  outputs.finish(pass.graph, doc);
}

TrainCmdOptions train_defaults() {
  TrainCmdOptions o;
  o.net.weight_scale = 1.1;
  o.net.samples = 1000;
  o.net.mean1 = {17, 10};
  return o;
}

void add_train(CLI::App& app) {
  auto o = std::make_shared<TrainCmdOptions>(train_defaults());
  auto* cmd = app.add_subcommand(
      "train",
      "Train the post's classifier (full batch) beside a logistic-regression baseline. "
      "Defaults: the blog post's third experiment (w = 1.1*I, 1000 points per class around "
      "(2,3) and (17,10)), so they differ from demo's");
  add_any_network_options(*cmd, o->net, o->rec);
  o->iters_given = add_integer_option(*cmd, "--iters", o->iters,
                                      "full-batch iterations (--arch rnn|lstm: minibatch steps, "
                                      "default 2000)");
  add_decimal_option(*cmd, "--lr", o->lr, "learning rate");
  cmd->add_option("--optimizer", o->optimizer, "sgd, momentum or adam")->capture_default_str();
  add_integer_option(*cmd, "--history-every", o->history_every,
                     "record the loss every N iterations");
  cmd->add_option("--plot", o->plot,
                  "after training, both models' P(class 1) over [-10, 30]^2 as 3-D surfaces "
                  "(.svg or .png; needs gnuplot; also writes the script as .gp)");
  add_output_options(*cmd, o->out);
  cmd->callback([o] { run_train(*o); });
}

}  // namespace gradscope::cli
