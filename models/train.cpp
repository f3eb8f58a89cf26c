#include "gradscope/models/train.hpp"

#include <algorithm>
#include <cmath>

#include "gradscope/models/loss.hpp"

namespace gradscope::models {

namespace {
void check_data(const Dataset& data, Eigen::Index inputs) {
  if (data.x.rows() != inputs)
    fail("data has {} features, the network expects {}", data.x.rows(), inputs);
  if (data.y.rows() != 1 || data.y.cols() != data.x.cols() || data.x.cols() == 0)
    fail("data: x is {}x{} and y {}x{}; need y 1 x samples and at least one sample", data.x.rows(),
         data.x.cols(), data.y.rows(), data.y.cols());
}
}  // namespace

template <class T>
TrainResult train(Network<T>& net, const Dataset& data, const TrainOptions& o) {
  check_data(data, net.inputs());
  if (o.history_every == 0) fail("train: history_every must be at least 1");
  auto opt = make_optimizer<T>(o.optimizer, net.parameters(), o.lr);
  const Matrix<T> x = data.x.cast<T>(), y = data.y.cast<T>();
  Graph<T> g;
  TrainResult r;
  auto record = [&](std::size_t it, double loss) {
    r.history.push_back({it, loss});
    if (o.on_record) o.on_record(it, loss);
  };
  for (std::size_t it = 0;; ++it) {
    g.clear();
    const auto f = net.forward(g.constant(x, "x"));
    const Var<T> loss = binary_cross_entropy(f.output(), g.constant(y, "y"));
    const double l = double(loss.item());
    // Past this point every later step would compute NaN: say when and why instead of returning
    // NaN weights and a NaN loss as if training had finished.
    if (!std::isfinite(l))
      fail(
          "train: the loss became {} at iteration {}{}: the weights or the data overflow the "
          "network; lower the learning rate or rescale the data",
          std::fabs(l), it,  // NaN prints as "nan", not "-nan"
          r.history.empty() ? std::string()
                            : fmt::format(" (it was {:.6g} at iteration {})", r.history.back().loss,
                                          r.history.back().iteration));
    if (it == o.iterations) {
      r.final_loss = l;
      if (r.history.empty() || r.history.back().iteration != it) record(it, l);
      break;
    }
    if (it % o.history_every == 0) record(it, l);
    opt->zero_grad();
    g.backward(loss);
    opt->step();
  }
  r.accuracy = accuracy(net, data);
  return r;
}

template <class T>
Eigen::MatrixXd predict(Network<T>& net, const Eigen::MatrixXd& x) {
  Graph<T> g;
  auto guard = g.no_grad();
  const auto f = net.forward(g.constant(x.cast<T>(), "x"));
  // The output activation's value; for a sigmoid output that is the probability of class 1.
  return Matrix<T>(f.output().a.value()).template cast<double>();
}

template <class T>
double accuracy(Network<T>& net, const Dataset& data) {
  check_data(data, net.inputs());
  const Eigen::MatrixXd p = predict(net, data.x);
  Eigen::Index right = 0;
  for (Eigen::Index i = 0; i < p.cols(); ++i) right += (p(0, i) >= 0.5) == (data.y(0, i) != 0);
  return double(right) / double(p.cols());
}

namespace {
void check_sequences(const Sequences& data, Eigen::Index inputs, const char* what) {
  if (data.x.empty() || data.samples() == 0)
    fail("{} sequences: {} steps, {} samples; need at least one of each", what, data.steps(),
         data.samples());
  for (const auto& x : data.x)
    if (x.rows() != inputs || x.cols() != data.samples())
      fail("{} sequences: a step is {}x{}, the network expects {} x {} (features x samples)", what,
           x.rows(), x.cols(), inputs, data.samples());
}

std::vector<Eigen::MatrixXd> columns(const Sequences& data, Eigen::Index first, Eigen::Index n) {
  std::vector<Eigen::MatrixXd> xs;
  xs.reserve(data.x.size());
  for (const auto& x : data.x) xs.push_back(x.middleCols(first, n));
  return xs;
}
}  // namespace

template <class T>
double sequence_mse(SequenceRegressor<T>& net, const Sequences& data) {
  check_sequences(data, net.cell().spec().inputs, "test");
  // In chunks of samples, one graph re-recorded for each: its memory grows with steps x samples.
  constexpr Eigen::Index kChunk = 100;
  Graph<T> g;
  auto guard = g.no_grad();
  double sum = 0;
  for (Eigen::Index first = 0; first < data.samples(); first += kChunk) {
    const Eigen::Index n = std::min(kChunk, data.samples() - first);
    g.clear();
    const Var<T> e = mse(net.forward(g, columns(data, first, n)),
                         g.constant(Matrix<T>(data.y.middleCols(first, n).cast<T>())));
    sum += double(e.item()) * double(n);
  }
  return sum / double(data.samples());
}

template <class T>
SequenceTrainResult train_sequences(SequenceRegressor<T>& net, const Sequences& train,
                                    const Sequences& test, const SequenceTrainOptions& o) {
  check_sequences(train, net.cell().spec().inputs, "training");
  if (o.batch < 1 || o.batch > train.samples())
    fail("train_sequences: batch {} outside 1 .. {} (the training samples)", o.batch,
         train.samples());
  if (o.eval_every == 0) fail("train_sequences: eval_every must be at least 1");
  auto params = net.parameters();
  auto opt = make_optimizer<T>(o.optimizer, params, o.lr);
  SequenceTrainResult r;
  r.clip.max_norm = o.clip;
  Graph<T> g;
  auto evaluate = [&](std::size_t it, double loss) {
    r.history.push_back({it, loss, sequence_mse(net, test)});
    if (o.on_eval) o.on_eval(it, loss, r.history.back().test_mse);
  };
  const Eigen::Index batches = train.samples() / o.batch;
  for (std::size_t it = 0;; ++it) {
    const Eigen::Index first = Eigen::Index(it % std::size_t(batches)) * o.batch;
    g.clear();
    const Var<T> loss = mse(net.forward(g, columns(train, first, o.batch)),
                            g.constant(Matrix<T>(train.y.middleCols(first, o.batch).cast<T>())));
    const double l = double(loss.item());
    if (!std::isfinite(l)) {
      r.diverged_at = long(it);
      return r;
    }
    if (it == o.iterations || it % o.eval_every == 0) evaluate(it, l);
    if (it == o.iterations) return r;
    opt->zero_grad();
    g.backward(loss);
    if (o.clip > 0) r.clip.record(clip_grad_norm(params, o.clip));
    opt->step();
  }
}

template TrainResult train(Network<double>&, const Dataset&, const TrainOptions&);
template TrainResult train(Network<float>&, const Dataset&, const TrainOptions&);
template Eigen::MatrixXd predict(Network<double>&, const Eigen::MatrixXd&);
template Eigen::MatrixXd predict(Network<float>&, const Eigen::MatrixXd&);
template double accuracy(Network<double>&, const Dataset&);
template double accuracy(Network<float>&, const Dataset&);
template SequenceTrainResult train_sequences(SequenceRegressor<double>&, const Sequences&,
                                             const Sequences&, const SequenceTrainOptions&);
template SequenceTrainResult train_sequences(SequenceRegressor<float>&, const Sequences&,
                                             const Sequences&, const SequenceTrainOptions&);
template double sequence_mse(SequenceRegressor<double>&, const Sequences&);
template double sequence_mse(SequenceRegressor<float>&, const Sequences&);

}  // namespace gradscope::models
