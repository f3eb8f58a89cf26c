#include "gradscope/instruments/through_time.hpp"

#include <fmt/format.h>

#include <Eigen/SVD>
#include <cmath>
#include <map>

namespace gradscope {

double slope_bound(Op op, double attr) {
  // φ′ on a grid over [-40, 40] with step 1/128, 0 included: the activations' slopes peak at 0
  // (tanh, sigmoid) or are flat beyond it (relu, leaky_relu; softplus approaches 1 from below).
  constexpr int kHalf = 40 * 128;
  Eigen::ArrayXd x = Eigen::ArrayXd::LinSpaced(2 * kHalf + 1, -40, 40), y(x.size());
  double bound = kNoValue;
  ops::with_activation(op, [&](auto k) {
    using K = decltype(k);
    ops::Forward<double> f{{x.data(), x.size(), 1}, {nullptr, 0, 0}, {y.data(), y.size(), 1}, attr};
    K::forward(f);
    bound = 0;
    for (Eigen::Index i = 0; i < x.size(); ++i)
      bound = std::max(bound, std::abs(K::slope(x(i), y(i), attr)));
  });
  return bound;
}

template <class T>
ThroughTime diagnose_through_time(const Graph<T>& g, const DiagnosisThresholds& th) {
  if (!g.has_gradients()) fail("diagnose_through_time: backward() has not run on this graph");
  ThroughTime out;
  LayerFinder finder;
  finder.find(g);
  const std::vector<LayerNodes>& units = finder.units();
  const std::string& none = finder.note();
  std::map<std::uint32_t, int> per_scope;
  for (const LayerNodes& u : units) ++per_scope[u.scope];
  std::uint32_t scope = 0;
  int steps = 0;
  for (const auto& [s, count] : per_scope)
    if (count > steps) scope = s, steps = count;
  if (steps < 2) {
    out.note = none.empty() ? "no recurrence: no scope holds two or more units (time steps)" : none;
    return out;
  }
  out.scope.assign(g.scope_path(scope));
  const LayerNodes* last = nullptr;
  for (const LayerNodes& u : units) {
    if (u.scope != scope) continue;
    out.h.push_back(u.a);
    out.grad_norm.push_back(l2_norm(g.node(u.a).grad()));
    last = &u;
  }

  // Least squares of log ‖dL/dh_t‖ on t over the usable steps.
  const auto steps_seen = int(out.h.size());
  double n = 0, st = 0, sy = 0, stt = 0, sty = 0;
  bool finite = true;
  for (int t = 1; t <= steps_seen; ++t) {
    const double norm = out.grad_norm[std::size_t(t - 1)];
    finite &= std::isfinite(norm);
    if (!(norm > 0) || !std::isfinite(norm)) continue;
    const double y = std::log(norm);
    n += 1, st += t, sy += y, stt += double(t) * t, sty += t * y;
  }
  out.total = out.grad_norm.front() / out.grad_norm.back();
  if (!finite) {
    out.verdict = Verdict::NonFinite;
    out.note = "a time step's gradient holds NaN or Inf";
  } else if (n < 2) {
    out.note = "fewer than 2 time steps with a nonzero gradient: no gain to fit";
  } else {
    out.gain = std::exp(-(n * sty - st * sy) / (n * stt - st * st));
    out.verdict = network_verdict(out.gain, out.total, Verdict::Unknown, th);
  }

  // Pascanu's bound, from the last step's weight and activation.
  if (last->param != kNoNode) {
    const auto w = g.node(last->param).value();
    const Matrix<double> wd = w.template cast<double>();
    out.sigma_max = Eigen::JacobiSVD<Matrix<double>>(wd).singularValues()(0);
  }
  const NodeView<T> a = g.node(last->a);
  if (last->a == last->z)
    out.gamma = 1;
  else if (a.arity() == 1 && a.input(0) == last->z)
    out.gamma = slope_bound(a.op(), double(a.attr()));
  out.bound = out.sigma_max * out.gamma;
  if (std::isnan(out.bound) && out.note.empty())
    out.note = "no bound: h_t is not an activation of z_t = W_rec h_{t-1} + ... (e.g. an LSTM)";
  return out;
}

std::string format_through_time(const ThroughTime& d, int every) {
  if (d.h.empty()) return fmt::format("through time: unknown ({})\n", d.note);
  std::string s = fmt::format(
      "through time ({} steps of '{}'): per-step gain {:.6g}, |dL/dh_1|/|dL/dh_{}| = {:.4g}: {}\n",
      d.h.size(), d.scope, d.gain, d.h.size(), d.total, to_string(d.verdict));
  if (!std::isnan(d.bound))
    s += fmt::format("Pascanu bound: sigma_max(W_rec) {:.6g} x gamma {:.6g} = {:.6g}{}\n",
                     d.sigma_max, d.gamma, d.bound,
                     d.bound < 1 ? " < 1: vanishing guaranteed" : " >= 1: exploding possible");
  if (!d.note.empty()) s += "note: " + d.note + "\n";
  s += "    t  |dL/dh_t|\n";
  const auto T = d.h.size(), step = std::size_t(std::max(every, 1));
  for (std::size_t t = 1; t <= T; ++t)
    if (t == 1 || t % step == 0 || t == T)
      s += fmt::format("{:>5}  {:.4e}\n", t, d.grad_norm[t - 1]);
  return s;
}

template ThroughTime diagnose_through_time<double>(const Graph<double>&, const DiagnosisThresholds&);
template ThroughTime diagnose_through_time<float>(const Graph<float>&, const DiagnosisThresholds&);

}  // namespace gradscope
