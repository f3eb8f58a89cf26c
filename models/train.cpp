#include "gradscope/models/train.hpp"

#include <cmath>
#include <type_traits>

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
TrainResult train(Mlp<T>& net, const Dataset& data, const TrainOptions& o) {
  check_data(data, net.inputs());
  if (o.history_every == 0) fail("train: history_every must be at least 1");
  auto opt = make_optimizer<T>(o.optimizer, net.parameters(), o.lr);
  const Matrix<T> x = data.x.cast<T>(), y = data.y.cast<T>();
  Graph<T> g;
  if (o.observer) {
    if constexpr (std::is_same_v<T, double>)
      g.add_observer(*o.observer);
    else
      fail("train: the observer watches double graphs; this network is float");
  }
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
Eigen::MatrixXd predict(Mlp<T>& net, const Eigen::MatrixXd& x) {
  Graph<T> g;
  auto guard = g.no_grad();
  const auto f = net.forward(g.constant(x.cast<T>(), "x"));
  // The output activation's value; for a sigmoid output that is the probability of class 1.
  return Matrix<T>(f.output().a.value()).template cast<double>();
}

template <class T>
double accuracy(Mlp<T>& net, const Dataset& data) {
  check_data(data, net.inputs());
  const Eigen::MatrixXd p = predict(net, data.x);
  Eigen::Index right = 0;
  for (Eigen::Index i = 0; i < p.cols(); ++i) right += (p(0, i) >= 0.5) == (data.y(0, i) != 0);
  return double(right) / double(p.cols());
}

template TrainResult train(Mlp<double>&, const Dataset&, const TrainOptions&);
template TrainResult train(Mlp<float>&, const Dataset&, const TrainOptions&);
template Eigen::MatrixXd predict(Mlp<double>&, const Eigen::MatrixXd&);
template Eigen::MatrixXd predict(Mlp<float>&, const Eigen::MatrixXd&);
template double accuracy(Mlp<double>&, const Dataset&);
template double accuracy(Mlp<float>&, const Dataset&);

}  // namespace gradscope::models
