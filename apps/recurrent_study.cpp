// The measurements of docs/recurrent.md: gradients through time in vanilla RNNs and LSTMs
// (Pascanu, Mikolov & Bengio 2013; Hochreiter & Schmidhuber 1997), from real runs.
//   gradscope-recurrent pascanu          per-step gain of linear and tanh RNNs beside the bound
//   gradscope-recurrent clip             training an exploding RNN with and without clipping
//   gradscope-recurrent adding           the adding problem: gradient at t = 1 relative to t = T
//   gradscope-recurrent train            the adding problem: training an RNN or LSTM
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <gradscope/instruments/through_time.hpp>
#include <gradscope/models/models.hpp>

using namespace gradscope;
using namespace gradscope::models;

namespace {

struct Settings {
  std::string cell = "rnn", act = "tanh", rec_init = "orthogonal", optimizer = "adam";
  double rec_scale = 1, lr = 0.01, clip = 0;
  Eigen::Index steps = 50, hidden = 64, batch = 50, train_samples = 10000;
  std::size_t iterations = 2000, eval_every = 250;
  std::uint64_t seed = 1;

  RecurrentSpec spec() const {
    RecurrentSpec s;
    s.cell = parse_cell(cell);
    s.inputs = 2;
    s.hidden = hidden;
    s.activation = parse_activation(act);
    s.rec_init = parse_recurrent_init(rec_init);
    s.rec_scale = rec_scale;
    return s;
  }
  std::string describe() const {
    return fmt::format("{} ({}), width {}, W_rec {} x {}, T = {}", cell, cell == "rnn" ? act : "gates",
                       hidden, rec_init, rec_scale, steps);
  }
};

// One backward pass of net on 100 samples of the adding problem, diagnosed through time.
ThroughTime gradient_through_time(SequenceRegressor<double>& net, const Settings& s) {
  const Sequences data = adding_problem(s.steps, 100, s.seed + 3);
  Graph<double> g;
  g.backward(mse(net.forward(g, data.x), g.constant(data.y)));
  return diagnose_through_time(g);
}

void through_time(const Settings& s, int every) {
  Rng rng(s.seed);
  SequenceRegressor<double> net(s.spec(), 1, rng);
  fmt::print("== {}\n{}\n", s.describe(), format_through_time(gradient_through_time(net, s), every));
}

SequenceTrainResult train(const Settings& s) {
  Rng rng(s.seed);
  SequenceRegressor<double> net(s.spec(), 1, rng);
  const Sequences train = adding_problem(s.steps, s.train_samples, s.seed + 1);
  const Sequences test = adding_problem(s.steps, 1000, s.seed + 2);
  SequenceTrainOptions o;
  o.iterations = s.iterations;
  o.batch = s.batch;
  o.optimizer = s.optimizer;
  o.lr = s.lr;
  o.clip = s.clip;
  o.eval_every = s.eval_every;
  fmt::print("== {}; {} lr {}, batch {}{}\n{:>9}  {:>12}  {:>10}\n", s.describe(), s.optimizer, s.lr,
             s.batch, s.clip > 0 ? fmt::format(", clip norm {}", s.clip) : "", "iteration",
             "batch loss", "test MSE");
  o.on_eval = [](std::size_t it, double loss, double test) {
    fmt::print("{:>9}  {:>12.6g}  {:>10.6g}\n", it, loss, test);
    std::fflush(stdout);
  };
  const SequenceTrainResult r = train_sequences(net, train, test, o);
  if (r.diverged_at >= 0)
    fmt::print("the loss became non-finite at iteration {}\n", r.diverged_at);
  else
    fmt::print("after training, {}", format_through_time(gradient_through_time(net, s), int(s.steps)));
  if (s.clip > 0)
    fmt::print("clipping fired on {} of {} steps ({:.1f}%); norm before clipping: last {:.4g}, largest {:.4g}\n",
               r.clip.fired, r.clip.passes, 100 * r.clip.fired_share(), r.clip.last_norm,
               r.clip.largest_norm);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Gradients through time in recurrent networks (docs/recurrent.md)"};
  app.require_subcommand(1);
  Settings s;
  auto* pascanu = app.add_subcommand("pascanu", "per-step gain of linear and tanh RNNs, T = 100");
  auto* clip = app.add_subcommand("clip", "an exploding RNN trained with and without clipping");
  auto* adding = app.add_subcommand("adding", "adding problem: gradient through time, RNN vs LSTM");
  auto* train_cmd = app.add_subcommand("train", "adding problem: train one network");
  for (auto* c : {clip, train_cmd}) {
    c->add_option("--iters", s.iterations, "optimiser steps");
    c->add_option("--lr", s.lr, "learning rate");
    c->add_option("--optimizer", s.optimizer, "sgd, momentum or adam");
    c->add_option("--batch", s.batch, "samples per step");
    c->add_option("--eval-every", s.eval_every, "steps between test evaluations");
  }
  for (auto* c : {clip, adding, train_cmd}) c->add_option("--steps", s.steps, "sequence length T");
  for (auto* c : {clip, train_cmd}) {
    c->add_option("--hidden", s.hidden, "hidden units");
    c->add_option("--rec-init", s.rec_init, "orthogonal, gaussian or identity");
    c->add_option("--rec-scale", s.rec_scale, "scale s of W_rec");
    c->add_option("--seed", s.seed, "random seed");
  }
  train_cmd->add_option("--cell", s.cell, "rnn or lstm");
  train_cmd->add_option("--act", s.act, "the RNN's activation: tanh or identity");
  train_cmd->add_option("--clip", s.clip, "clip the gradient norm to this (0: off)");
  double clip_norm = 1;
  clip->add_option("--clip", clip_norm, "the clipped run's max norm");
  CLI11_PARSE(app, argc, argv);

  try {
    if (pascanu->parsed()) {
      s.steps = 100;
      for (double scale : {0.9, 1.1}) {
        s.act = "identity", s.rec_scale = scale;
        through_time(s, 25);
      }
      for (double scale : {0.9, 1.5}) {
        s.act = "tanh", s.rec_scale = scale;
        through_time(s, 25);
      }
    } else if (adding->parsed()) {
      for (const char* cell : {"rnn", "lstm"}) {
        s.cell = cell;
        through_time(s, int(s.steps / 5));
      }
    } else if (clip->parsed()) {
      s.clip = 0;
      train(s);
      s.clip = clip_norm;
      train(s);
    } else {
      train(s);
    }
  } catch (const Error& e) {
    fmt::print(stderr, "gradscope-recurrent: {}\n", e.what());
    return 2;
  }
}
