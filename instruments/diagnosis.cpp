#include "gradscope/instruments/diagnosis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gradscope/instruments/theory.hpp"

namespace gradscope {

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Vanishing: return "vanishing";
    case Verdict::Stable: return "stable";
    case Verdict::Exploding: return "exploding";
    case Verdict::NonFinite: return "non_finite";
    case Verdict::Unknown: break;
  }
  return "unknown";
}

namespace {

// The verdict of a gain, leaving `previous` only past its threshold by the hysteresis margin.
Verdict verdict_of(double gain, Verdict previous, const DiagnosisThresholds& th) {
  if (std::isnan(gain)) return Verdict::Unknown;
  const double m = 1 + th.hysteresis;
  double low = th.vanishing_gain, high = th.exploding_gain;
  if (previous == Verdict::Vanishing) low *= m;
  if (previous == Verdict::Exploding) high /= m;
  if (previous == Verdict::Stable) {
    low /= m;
    high *= m;
  }
  return gain < low ? Verdict::Vanishing : gain > high ? Verdict::Exploding : Verdict::Stable;
}

// Geometric mean of x[first..last] (inclusive); NaN if any is not positive and finite.
template <class Get>
double geometric_mean(int first, int last, Get x) {
  double sum = 0;
  for (int l = first; l <= last; ++l) sum += std::log(x(l));
  return std::exp(sum / (last - first + 1));
}

// The geometric mean of the measured gains g_first..g_last: their product telescopes to
// rms(dz_first) / rms(dz_last+1), so one power replaces a logarithm per gain.
double mean_gain(const std::vector<LayerDiagnosis>& layers, int first, int last) {
  const double ratio = layers[std::size_t(first - 1)].grad_rms / layers[std::size_t(last)].grad_rms;
  return std::pow(ratio, 1.0 / (last - first + 1));
}

// The parameter of node `node` in parameters (in creation order, so sorted by node), or null.
const ParameterRatio* find_parameter(const std::vector<ParameterRatio>& parameters,
                                     std::uint32_t node) {
  const auto before = [](const ParameterRatio& p, std::uint32_t n) { return p.node < n; };
  const auto it = std::lower_bound(parameters.begin(), parameters.end(), node, before);
  return it != parameters.end() && it->node == node ? &*it : nullptr;
}

// ‖g‖ of node i's gradient: from the caller's measurements when it has them, else read.
template <class T>
double grad_l2_norm(const Graph<T>& g, std::uint32_t i, const std::vector<GradSums>* grads) {
  if (!grads) return l2_norm(g.node(i).grad());
  const GradSums& s = (*grads)[i];
  return s.finite() ? s.l2 : kNoValue;
}

// Sets out to the name of node v, labelled `label`, unless it holds that already: a training loop
// diagnosing every pass then compares names instead of building them.
template <class T>
void set_name(std::string& out, const NodeView<T>& v, const NodeLabel& label) {
  const std::string_view scope = v.graph().scope_path(label.scope), local = label.local;
  const std::size_t at = scope.empty() ? 0 : scope.size() + 1;
  const bool same = !local.empty() && out.size() == at + local.size() &&
                    out.compare(0, scope.size(), scope) == 0 &&
                    (at == 0 || out[scope.size()] == '/') && out.compare(at, local.size(), local) == 0;
  if (!same) v.name_into(out);
}

void reset(Diagnosis& d) {
  d.measured_gain = d.theory_gain = d.total_gain = kNoValue;
  d.note.clear();
}

}  // namespace

template <class T>
void diagnose(const Graph<T>& g, const DiagnosisThresholds& th, Diagnosis& out,
              const PassFigures& figures) {
  const std::vector<GradSums>* grads = figures.grads;
  if (!g.has_gradients()) fail("diagnose: backward() has not run on this graph");
  if (grads && grads->size() != g.size())
    fail("diagnose: statistics of {} nodes given for a graph of {} nodes", grads->size(), g.size());
  reset(out);
  const Verdict previous_network = out.verdict;
  out.verdict = Verdict::Unknown;

  const LayerFinder& finder = figures.units ? *figures.units : out.finder;
  if (!figures.units) out.finder.find(g);

  // Every parameter reached by backward.
  std::size_t p = 0;
  for (std::uint32_t i = 0; i < g.size(); ++i) {
    const NodeView<T> v(g, i);
    if (v.op() != Op::Param || !v.requires_grad()) continue;
    if (p == out.parameters.size()) out.parameters.emplace_back();
    auto& pr = out.parameters[p++];
    set_name(pr.name, v, finder.labels()[i]);
    pr.node = i;
    pr.grad_norm = grad_l2_norm(g, i, grads);
    pr.value_norm = l2_norm(v.value());
    pr.ratio = pr.grad_norm / pr.value_norm;
  }
  out.parameters.resize(p);

  // The units and what was measured at each. A unit keeps its previous verdict (for hysteresis)
  // when it is the same scope at the same place.
  const std::vector<LayerNodes>& units = finder.units();
  out.note = finder.note();
  const auto depth = int(units.size());
  out.layers.resize(units.size());
  for (int l = 1; l <= depth; ++l) {
    const LayerNodes& u = units[std::size_t(l - 1)];
    auto& ld = out.layers[std::size_t(l - 1)];
    const std::string_view scope = g.scope_path(u.scope);
    if (ld.scope != scope) {
      ld.scope.assign(scope);
      ld.verdict = Verdict::Unknown;
    }
    ld.layer = l;
    ld.z_node = u.z;
    ld.a_node = u.a;
    ld.w_node = u.param;
    ld.b_node = u.b;
    const NodeView<T> z(g, u.z);
    ld.width = z.shape().rows;
    ld.grad_norm = grad_l2_norm(g, u.z, grads);
    ld.grad_rms = ld.grad_norm / std::sqrt(double(z.shape().size()));
    ld.gain = ld.trend = ld.theory_gain = kNoValue;
    const ParameterRatio* pr = find_parameter(out.parameters, u.param);
    ld.weight_ratio = pr ? pr->ratio : kNoValue;
  }
  if (depth < 3) {
    if (out.note.empty()) out.note = "fewer than 3 units: no gain to measure over hidden layers";
    for (auto& ld : out.layers) ld.verdict = Verdict::Unknown;
    return;
  }

  bool finite = true;
  for (int l = 1; l <= depth; ++l) {
    auto& ld = out.layers[std::size_t(l - 1)];
    finite &= std::isfinite(ld.grad_rms);
    if (l == depth) continue;
    ld.gain = ld.grad_rms / out.layers[std::size_t(l)].grad_rms;
    const LayerNodes &unit = units[std::size_t(l - 1)], &up = units[std::size_t(l)];
    if (!has_mean_field(up)) continue;
    // E[φ′(z_l)²] as measured during the pass, and ‖W_{l+1}‖ as the parameters' list has it (a
    // transpose has its operand's norm).
    const double measured = figures.slope_squared ? (*figures.slope_squared)[std::size_t(l - 1)] : kNoValue;
    const double slope_squared = std::isnan(measured) ? mean_slope_squared(g, unit) : measured;
    const ParameterRatio* pr = find_parameter(out.parameters, up.param);
    double w_norm = pr ? pr->value_norm : kNoValue;
    if (std::isnan(w_norm)) w_norm = l2_norm(g.node(up.w).value());
    ld.theory_gain = mean_field_gain(g, up, slope_squared, w_norm);
  }
  out.total_gain = out.layers.front().grad_rms / out.layers.back().grad_rms;
  if (!finite) {
    for (auto& ld : out.layers)
      ld.verdict = std::isfinite(ld.grad_rms) ? Verdict::Unknown : Verdict::NonFinite;
    out.verdict = Verdict::NonFinite;
    out.note = "a unit's gradient holds NaN or Inf";
    return;
  }
  auto theory = [&](int l) { return out.layers[std::size_t(l - 1)].theory_gain; };
  for (int l = 1; l < depth; ++l) {
    auto& ld = out.layers[std::size_t(l - 1)];
    ld.trend = mean_gain(out.layers, std::max(1, l - th.window), std::min(depth - 1, l + th.window));
    ld.verdict = verdict_of(ld.trend, ld.verdict, th);
  }
  out.layers.back().verdict = Verdict::Unknown;

  // The hidden stack 1..L-1: L-2 gains.
  const int hidden = depth - 2;
  out.measured_gain = mean_gain(out.layers, 1, hidden);
  out.theory_gain = geometric_mean(1, hidden, theory);
  out.verdict = network_verdict(out.measured_gain, out.total_gain, previous_network, th);
}

Verdict network_verdict(double gain, double total, Verdict previous, const DiagnosisThresholds& th) {
  if (total < th.vanishing_total || gain == 0) return Verdict::Vanishing;
  if (total > th.exploding_total) return Verdict::Exploding;
  return verdict_of(gain, previous, th);
}

std::string format_summary(const Diagnosis& d) {
  if (d.layers.empty() || d.verdict == Verdict::Unknown)
    return fmt::format("verdict unknown ({})", d.note);
  // No theory where a unit's z is not Wa + b (theory.hpp): a normalised layer, a residual block.
  const std::string theory =
      std::isnan(d.theory_gain) ? std::string() : fmt::format(" (theory {:.6g})", d.theory_gain);
  return fmt::format("gain {:.6g} per layer{}, rms(dz_1)/rms(dz_{}) = {:.4g}: {}", d.measured_gain,
                     theory, d.layers.size(), d.total_gain, to_string(d.verdict));
}

std::string format_table(const Diagnosis& d) {
  std::string s = fmt::format("{:>5}  {:<16}  {:>10}  {:>8}  {:>8}  {:>8}  {:>7}  {:>9}  {}\n",
                              "layer", "unit", "rms(dz)", "gain", "trend", "theory", "ratio",
                              "|dw|/|w|", "verdict");
  auto cell = [](double x, const char* spec) {
    return std::isnan(x) ? std::string("-") : fmt::format(fmt::runtime(spec), x);
  };
  std::uint32_t narrowest = ~0u;  // of the hidden units, where the theory is read
  for (auto it = d.layers.rbegin(); it != d.layers.rend(); ++it) {
    if (it != d.layers.rbegin()) narrowest = std::min(narrowest, it->width);
    std::string unit = it->scope.size() <= 16 ? it->scope : "…" + it->scope.substr(it->scope.size() - 15);
    s += fmt::format("{:>5}  {:<16}  {:>10.4e}  {:>8}  {:>8}  {:>8}  {:>7}  {:>9}  {}\n", it->layer,
                     unit, it->grad_rms, cell(it->gain, "{:.6f}"), cell(it->trend, "{:.6f}"),
                     cell(it->theory_gain, "{:.6f}"), cell(it->gain / it->theory_gain, "{:.4f}"),
                     cell(it->weight_ratio, "{:.3e}"),
                     it->layer == int(d.layers.size()) ? "-" : to_string(it->verdict));
  }
  s += "network: " + format_summary(d) + "\n";
  if (narrowest < 32)
    s += fmt::format("note: theory is mean-field (wide layers); at width {} it is a rough guide and "
                     "may differ from the measurement\n", narrowest);
  return s;
}

template void diagnose<double>(const Graph<double>&, const DiagnosisThresholds&, Diagnosis&,
                               const PassFigures&);
template void diagnose<float>(const Graph<float>&, const DiagnosisThresholds&, Diagnosis&,
                              const PassFigures&);

}  // namespace gradscope
