// `--arch rnn|lstm` for demo and train: a recurrent cell unrolled over --steps T on the adding
// problem (models/data.hpp), diagnosed through time (instruments/through_time.hpp).
#include <gradscope/instruments/through_time.hpp>

#include "cli.hpp"

namespace gradscope::cli {

namespace {
// The options --arch rnn|lstm reads: its defaults where the MLP's do not fit (tanh, width 64).
models::RecurrentSpec recurrent_spec(models::Cell cell, const NetworkOptions& net,
                                     const RecurrentOptions& o) {
  if (o.steps < 2)
    fail("--steps must be at least 2 (the adding problem marks one step in each half), got {}",
         o.steps);
  require_positive("--rec-scale", o.rec_scale);
  if (net.norm != "none")
    fail("--norm {}: --arch {} has no normalisation (--norm applies to mlp and residual)", net.norm,
         net.arch);
  models::RecurrentSpec s;
  s.cell = cell;
  s.inputs = 2;
  s.hidden = !o.width_given || o.width_given->count() ? net.width : 64;
  if (s.hidden < 1) fail("--width must be at least 1, got {}", s.hidden);
  s.activation =
      models::parse_activation(!o.act_given || o.act_given->count() ? net.act : "tanh");
  if (cell == models::Cell::Rnn && s.activation != models::Activation::Tanh &&
      s.activation != models::Activation::Identity)
    fail("--arch rnn: --act must be tanh or identity, got {}", net.act);
  s.rec_init = models::parse_recurrent_init(o.rec_init);
  s.rec_scale = o.rec_scale;
  return s;
}

models::Sequences sequences(const NetworkOptions& net, const RecurrentOptions& o,
                            std::uint64_t seed) {
  if (!net.data.empty())
    fail("--data is not read by --arch rnn|lstm (it trains on the adding problem)");
  if (net.samples < 1) fail("--samples must be at least 1, got {}", net.samples);
  Building b(
      fmt::format("generating the adding problem (--steps {} --samples {})", o.steps, net.samples));
  return models::adding_problem(o.steps, net.samples, seed);
}

json config(const models::RecurrentSpec& s, const NetworkOptions& net, const RecurrentOptions& o) {
  return {
      {"arch", models::cell_name(s.cell)},
      {"steps", o.steps},
      {"width", s.hidden},
      {"activation", s.cell == models::Cell::Rnn ? models::activation_name(s.activation) : "lstm"},
      {"rec_init", models::recurrent_init_name(s.rec_init)},
      {"rec_scale", s.rec_scale},
      {"samples", net.samples},
      {"seed", net.seed},
      {"data", "adding problem"}};
}

// One pass of net on data into g; the diagnosis through time, printed and added to doc.
ThroughTime diagnose_pass(models::SequenceRegressor<double>& net, const models::Sequences& data,
                          Graph<double>& g, json& doc) {
  const Var<double> loss = mse(net.forward(g, data.x), g.constant(data.y));
  g.backward(loss);
  const ThroughTime d = diagnose_through_time(g);
  fmt::print("loss {:.10g}\n{}", loss.item(), format_through_time(d));
  json norms = json::array();
  for (double n : d.grad_norm) norms.push_back(n);
  doc["loss"] = loss.item();
  doc["per_step_gain"] = d.gain;
  doc["verdict"] = to_string(d.verdict);
  doc["through_time"] = {{"scope", d.scope},
                         {"grad_norm_per_step", norms},
                         {"first_to_last", d.total},
                         {"sigma_max_w_rec", d.sigma_max},
                         {"activation_slope_bound", d.gamma},
                         {"pascanu_bound", d.bound},
                         {"note", d.note}};
  return d;
}
}  // namespace

void add_recurrent_options(CLI::App& cmd, RecurrentOptions& o) {
  add_integer_option(cmd, "--steps", o.steps, "--arch rnn|lstm: sequence length T");
  add_recurrent_weight_options(cmd, o.rec_init, o.rec_scale);
  o.width_given = cmd.get_option("--width");
  o.act_given = cmd.get_option("--act");
}

void add_recurrent_weight_options(CLI::App& cmd, std::string& rec_init, double& rec_scale) {
  cmd.add_option("--rec-init", rec_init,
                 "--arch rnn|lstm: recurrent weight: orthogonal, gaussian or identity")
      ->capture_default_str();
  add_decimal_option(cmd, "--rec-scale", rec_scale,
                     "--arch rnn|lstm: scale s of the recurrent weight");
}

void run_recurrent_demo(const NetworkOptions& net, const RecurrentOptions& o,
                        const OutputOptions& out) {
  const auto spec = recurrent_spec(models::parse_cell(net.arch), net, o);
  Outputs outputs(out, net);
  const models::Sequences data = sequences(net, o, net.seed);
  models::Rng rng(net.seed);
  models::SequenceRegressor<double> model(spec, 1, rng);
  fmt::print("demo: {} of width {}, {} steps, W_rec {} x {}, {} sequences of the adding problem\n",
             net.arch, spec.hidden, o.steps, o.rec_init, o.rec_scale, net.samples);
  json doc = {{"command", "demo"}, {"config", config(spec, net, o)}};
  Graph<double> g;
  diagnose_pass(model, data, g, doc);
  outputs.finish(g, doc);
}

void run_recurrent_train(const NetworkOptions& net, const RecurrentOptions& o,
                         const OutputOptions& out, const models::SequenceTrainOptions& t) {
  const auto spec = recurrent_spec(models::parse_cell(net.arch), net, o);
  Outputs outputs(out, net);
  const models::Sequences train = sequences(net, o, net.seed);
  const models::Sequences test = sequences(net, o, net.seed + 1);
  models::Rng rng(net.seed);
  models::SequenceRegressor<double> model(spec, 1, rng);
  models::SequenceTrainOptions options = t;
  options.batch = std::min<Eigen::Index>(options.batch, train.samples());
  json history = json::array();
  options.on_eval = [&](std::size_t it, double loss, double mse) {
    history.push_back({{"iteration", it}, {"batch_loss", loss}, {"test_mse", mse}});
    fmt::print(stderr, "{:<20} iteration {:>8}/{}  batch loss {:.6g}  test MSE {:.6g}\n", net.arch,
               it, options.iterations, loss, mse);
  };
  const auto r = models::train_sequences(model, train, test, options);
  if (r.diverged_at >= 0)
    fail("train: the loss became non-finite at iteration {}; lower --lr or --rec-scale",
         r.diverged_at);
  fmt::print("train: {}, width {}, {} steps: test MSE {:.6g} after {} steps (the mean's {:.4g})\n",
             net.arch, spec.hidden, o.steps, r.history.back().test_mse, options.iterations,
             (test.y.array() - 1).square().mean());
  json doc = {{"command", "train"},
              {"config", config(spec, net, o)},
              {"test_mse", r.history.back().test_mse},
              {"history", history}};
  Graph<double> g;
  diagnose_pass(model, test, g, doc);
  outputs.finish(g, doc);
}

}  // namespace gradscope::cli
