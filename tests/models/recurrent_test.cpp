// Recurrent cells unrolled through time, and the diagnosis through time (Pascanu et al. 2013).
#include <catch2/catch.hpp>
#include <gradscope/instruments/clip.hpp>
#include <gradscope/instruments/through_time.hpp>
#include <gradscope/models/models.hpp>

#include <cmath>

using namespace gradscope;
using namespace gradscope::models;

namespace {
// One forward and backward pass of a sequence regressor on the adding problem; the diagnosis
// through time of it.
ThroughTime run(SequenceRegressor<double>& net, Eigen::Index steps) {
  const Sequences data = adding_problem(steps, 8, 3);
  Graph<double> g;
  const Var<double> loss = mse(net.forward(g, data.x), g.constant(data.y));
  g.backward(loss);
  return diagnose_through_time(g);
}

RecurrentSpec linear(double s) {
  RecurrentSpec spec;
  spec.inputs = 2;
  spec.hidden = 64;
  spec.activation = Activation::Identity;
  spec.rec_init = RecurrentInit::Orthogonal;
  spec.rec_scale = s;
  return spec;
}
}  // namespace

TEST_CASE("linear RNN with W_rec = s·Q, width 64, T = 100: the per-step gain is exactly s") {
  for (double s : {0.9, 1.0, 1.1}) {
    Rng rng(5);
    SequenceRegressor<double> net(linear(s), 1, rng);
    const ThroughTime d = run(net, 100);
    INFO("s = " << s);
    REQUIRE(d.h.size() == 100);
    CHECK(d.scope == "step");
    CHECK(std::abs(d.gain - s) < 1e-9);
    CHECK(d.total == Approx(std::pow(s, 99)).epsilon(1e-9));
    CHECK(d.sigma_max == Approx(s).epsilon(1e-12));
    CHECK(d.gamma == 1);
    CHECK(d.bound == Approx(s).epsilon(1e-12));
    // Every step, not only the fit: ‖dL/dh_{t-1}‖ = s·‖dL/dh_t‖.
    for (std::size_t t = 1; t < d.grad_norm.size(); ++t)
      CHECK(d.grad_norm[t - 1] == Approx(s * d.grad_norm[t]).epsilon(1e-12));
    CHECK(d.verdict == (s < 1 ? Verdict::Vanishing : s > 1 ? Verdict::Exploding : Verdict::Stable));
  }
}

TEST_CASE("tanh RNN below Pascanu's bound vanishes, its gain under σ_max·γ") {
  RecurrentSpec spec = linear(0.7);
  spec.activation = Activation::Tanh;
  Rng rng(9);
  SequenceRegressor<double> net(spec, 1, rng);
  const ThroughTime d = run(net, 50);
  CHECK(d.gamma == 1);  // tanh′(0), from the op's slope()
  CHECK(d.bound == Approx(0.7).epsilon(1e-12));
  CHECK(d.gain <= d.bound);
  for (std::size_t t = 1; t < d.grad_norm.size(); ++t) CHECK(d.grad_norm[t - 1] <= 0.7 * d.grad_norm[t] * (1 + 1e-12));
  CHECK(d.verdict == Verdict::Vanishing);
  CHECK_THAT(format_through_time(d), Catch::Contains("< 1: vanishing guaranteed"));
}

TEST_CASE("the activations' bound γ comes from their slopes") {
  CHECK(slope_bound(Op::Tanh, 0) == 1);
  CHECK(slope_bound(Op::Sigmoid, 0) == 0.25);
  CHECK(slope_bound(Op::Relu, 0) == 1);
  CHECK(std::isnan(slope_bound(Op::Mul, 0)));
}

TEST_CASE("LSTM: one unit per step, h_t marked, no Pascanu bound stated") {
  RecurrentSpec spec;
  spec.cell = Cell::Lstm;
  spec.inputs = 2;
  spec.hidden = 8;
  Rng rng(1);
  SequenceRegressor<double> net(spec, 1, rng);
  const ThroughTime d = run(net, 20);
  REQUIRE(d.h.size() == 20);
  CHECK(std::isfinite(d.gain));
  CHECK(d.sigma_max > 0);
  CHECK(std::isnan(d.bound));
  CHECK_THAT(d.note, Catch::Contains("no bound"));
  CHECK(net.parameters().size() == 5);
  CHECK(net.cell().w_rec().shape() == Shape{32, 8});
}

TEST_CASE("recurrent settings are checked") {
  CHECK(parse_recurrent_init("gaussian") == RecurrentInit::Gaussian);
  CHECK(parse_cell("lstm") == Cell::Lstm);
  CHECK_THROWS_WITH(parse_recurrent_init("unit"),
                    Catch::Contains("'unit' (expected orthogonal, gaussian, identity)"));
  CHECK_THROWS_WITH(recurrent_weight_init(RecurrentInit::Identity, 0, 4), Catch::Contains("> 0, got 0"));
  CHECK_THROWS_WITH(recurrent_weight_init(RecurrentInit::Identity, NAN, 4), Catch::Contains("finite"));
  RecurrentSpec spec;
  spec.activation = Activation::Relu;
  Rng rng(1);
  CHECK_THROWS_WITH(Recurrent<double>("r", spec, rng), Catch::Contains("tanh or identity, not relu"));
  Graph<double> g;
  Recurrent<double> ok("r", RecurrentSpec{}, rng);
  CHECK_THROWS_WITH(ok.forward({}), Catch::Contains("no time steps"));
  CHECK_THROWS_WITH(ok.forward({g.constant(Matrix<double>::Zero(3, 2))}), Catch::Contains("expected 1 rows"));
}

TEST_CASE("ClipLog counts the passes whose norm exceeded max_norm") {
  ClipLog log{2.0};
  for (double n : {1.0, 3.0, 2.0, 5.0}) log.record(n);
  CHECK(log.passes == 4);
  CHECK(log.fired == 2);
  CHECK(log.last_norm == 5);
  CHECK(log.largest_norm == 5);
  CHECK(log.fired_share() == 0.5);
}

TEST_CASE("train_sequences: minibatch steps, clipping logged, test MSE recorded and falling") {
  RecurrentSpec spec;
  spec.cell = Cell::Lstm;
  spec.inputs = 2;
  spec.hidden = 8;
  Rng rng(2);
  SequenceRegressor<double> net(spec, 1, rng);
  const Sequences train = adding_problem(6, 40, 1), test = adding_problem(6, 30, 2);
  SequenceTrainOptions o;
  o.iterations = 60;
  o.batch = 20;
  o.clip = 0.5;
  o.eval_every = 20;
  const SequenceTrainResult r = train_sequences(net, train, test, o);
  REQUIRE(r.history.size() == 4);
  CHECK(r.history.back().iteration == 60);
  CHECK(r.history.back().test_mse == Approx(sequence_mse(net, test)).epsilon(1e-12));
  CHECK(r.history.back().test_mse < 0.5 * r.history.front().test_mse);
  CHECK(r.diverged_at == -1);
  CHECK(r.clip.passes == 60);
  CHECK(r.clip.fired > 0);
  o.batch = 41;
  CHECK_THROWS_WITH(train_sequences(net, train, test, o), Catch::Contains("batch 41 outside 1 .. 40"));
  o.batch = 20;
  CHECK_THROWS_WITH(train_sequences(net, adding_problem(6, 40, 1), Sequences{}, o),
                    Catch::Contains("test sequences: 0 steps"));
}
