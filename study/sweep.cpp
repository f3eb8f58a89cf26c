#include "gradscope/study/sweep.hpp"

#include <Eigen/SVD>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "gradscope/instruments/diagnosis.hpp"
#include "gradscope/models/activation_op.hpp"
#include "gradscope/models/mlp.hpp"

namespace gradscope::study {

namespace {
// splitmix64's finaliser: neighbouring grid positions get unrelated seeds.
std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

const std::pair<std::string_view, std::string_view> kInitNames[] = {
    {"identity", "identity"}, {"gaussian", "gaussian"},   {"xavier", "xavier"},
    {"glorot", "xavier"},     {"he", "he"},               {"kaiming", "he"},
    {"orthogonal", "orthogonal"}, {"fan_in_uniform", "fan_in_uniform"}, {"critical", "critical"}};

std::string canonical_init(std::string_view name) {
  for (const auto& [alias, canonical] : kInitNames)
    if (alias == name) return std::string(canonical);
  fail(
      "sweep: unknown --inits '{}' (expected identity, gaussian, xavier (glorot), he (kaiming), "
      "orthogonal, fan_in_uniform or critical)",
      name);
}

// The weight and bias initialisers of a cell's layers (all width x width).
std::pair<models::Init, models::Init> initialisers(const Grid& grid, const CellSpec& c) {
  using models::Init;
  const double n = double(c.width);
  if (c.init == "identity") return {Init::scaled_identity(grid.identity_scale), Init::constant(0)};
  if (c.init == "xavier") return {Init::xavier_uniform(), Init::constant(0)};
  if (c.init == "he") return {Init::he_normal(), Init::constant(0)};
  if (c.init == "orthogonal") return {Init::orthogonal(), Init::constant(0)};
  if (c.init == "fan_in_uniform")
    return {Init::uniform(-1 / std::sqrt(n), 1 / std::sqrt(n)), Init::constant(0)};
  return {Init::normal(0, std::sqrt(c.sigma_w2 / n)), Init::normal(0, std::sqrt(c.sigma_b2))};
}

template <class T>
void require_nonempty(const char* option, const std::vector<T>& v) {
  if (v.empty()) fail("sweep: {} is empty", option);
}

struct Pass {
  double gain, total_gain;
  Verdict verdict;
  std::vector<double> rms_dz, grad_w_norm;
  JacobianSpectrum spectrum;
};

// J = D_L W_L ··· D_1 W_1 at the first input, D_l = diag(φ′(z_l)), by the activation's own φ′.
JacobianSpectrum spectrum(models::Mlp<double>& net, const models::NetworkForward<double>& fwd,
                          models::Activation act) {
  Eigen::MatrixXd j = Eigen::MatrixXd::Identity(net.inputs(), net.inputs());
  for (std::size_t l = 1; l <= net.depth(); ++l) {
    const Eigen::MatrixXd z = fwd.layers[l - 1].z.value().col(0);
    j = models::derivative(act, z).asDiagonal() * (net.layer(l).w().value() * j);
  }
  const Eigen::VectorXd s = Eigen::BDCSVD<Eigen::MatrixXd>(j).singularValues();
  const Eigen::ArrayXd s2 = s.array().square();
  return {s2.mean(), (s2 - s2.mean()).square().mean(), s.maxCoeff(),
          std::vector<double>(s2.begin(), s2.end())};
}

Pass run_pass(const Grid& grid, const CellSpec& c, std::uint64_t seed) {
  const models::Activation act = models::parse_activation(c.act);
  const auto [w_init, b_init] = initialisers(grid, c);
  models::MlpBuilder builder(c.width);
  for (long l = 0; l < c.depth; ++l) builder.dense(c.width, act, w_init, b_init);
  auto net = builder.orientation(models::Orientation::OutIn).seed(seed).build<double>();
  models::Rng rng(mix(seed, 1));
  Eigen::MatrixXd x(c.width, grid.samples), r(c.width, grid.samples);
  for (Eigen::Index i = 0; i < x.size(); ++i) x(i) = rng.normal();
  for (Eigen::Index i = 0; i < r.size(); ++i) r(i) = rng.normal();

  Graph<double> g;
  const auto fwd = net.forward(g.constant(x, "x"));
  g.backward(sum(fwd.output().a * g.constant(r, "r")));
  const Diagnosis d = diagnose(g);
  Pass p{d.measured_gain, d.total_gain, d.verdict, {}, {}, {}};
  for (const auto& layer : d.layers) p.rms_dz.push_back(layer.grad_rms);
  for (std::size_t l = 1; l <= net.depth(); ++l) p.grad_w_norm.push_back(net.layer(l).w().grad().norm());
  if (grid.spectrum) p.spectrum = spectrum(net, fwd, act);
  return p;
}
}  // namespace

std::vector<CellSpec> cells(const Grid& grid) {
  require_nonempty("--depths", grid.depths);
  require_nonempty("--widths", grid.widths);
  require_nonempty("--acts", grid.acts);
  require_nonempty("--inits", grid.inits);
  require_nonempty("--sigma-w2", grid.sigma_w2);
  require_nonempty("--sigma-b2", grid.sigma_b2);
  for (long d : grid.depths)
    if (d < 3) fail("sweep: --depths {}: each depth must be >= 3 (the gain spans layers 1 to L-1)", d);
  for (long w : grid.widths) {
    if (w < 1) fail("sweep: --widths {}: each width must be >= 1", w);
    if (grid.spectrum && w > kMaxSpectrumWidth)
      fail("sweep: --widths {} with --spectrum: the exact SVD takes widths up to {}", w,
           kMaxSpectrumWidth);
  }
  for (double s : grid.sigma_w2)
    if (!std::isfinite(s) || !(s > 0)) fail("sweep: --sigma-w2 {}: must be finite and > 0", s);
  for (double s : grid.sigma_b2)
    if (!std::isfinite(s) || !(s >= 0)) fail("sweep: --sigma-b2 {}: must be finite and >= 0", s);
  if (!std::isfinite(grid.identity_scale) || !(grid.identity_scale > 0))
    fail("sweep: --identity-scale {}: must be finite and > 0", grid.identity_scale);
  if (grid.repeats < 1) fail("sweep: --repeats {}: must be >= 1", grid.repeats);
  if (grid.samples < 1) fail("sweep: --samples {}: must be >= 1", grid.samples);

  std::vector<CellSpec> out;
  for (const auto& act_name : grid.acts) {
    const models::Activation act = models::parse_activation(act_name);
    const models::ActivationOp op = models::activation_op(act);
    for (const auto& init_name : grid.inits) {
      const std::string init = canonical_init(init_name);
      std::vector<std::pair<double, double>> sigmas;  // (σ_w², σ_b²)
      if (init == "gaussian")
        for (double w : grid.sigma_w2)
          for (double b : grid.sigma_b2) sigmas.emplace_back(w, b);
      else if (init == "critical")
        for (double b : grid.sigma_b2) sigmas.emplace_back(critical_sigma_w2(op.op, op.attr, b), b);
      else if (init == "identity")
        sigmas.emplace_back(grid.identity_scale * grid.identity_scale, 0);
      else
        sigmas.emplace_back(init == "he" ? 2 : init == "fan_in_uniform" ? 1.0 / 3 : 1, 0);
      for (const auto& [w2, b2] : sigmas)
        for (long depth : grid.depths)
          for (long width : grid.widths)
            out.push_back({out.size(), std::string(models::activation_name(act)), init, depth,
                           width, w2, b2});
    }
  }
  return out;
}

Shard parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  auto number = [&](std::string_view s, std::size_t& v) {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
  };
  Shard s;
  if (slash == std::string_view::npos || !number(text.substr(0, slash), s.index) ||
      !number(text.substr(slash + 1), s.count) || s.index < 1 || s.index > s.count)
    fail("sweep: --shard '{}': expected I/N with 1 <= I <= N (e.g. 2/4)", text);
  return s;
}

CellResult run_cell(const Grid& grid, const CellSpec& spec) {
  const models::ActivationOp op = models::activation_op(models::parse_activation(spec.act));
  CellResult c;
  c.spec = spec;
  c.theory = mean_field(op.op, op.attr, spec.sigma_w2, spec.sigma_b2);
  c.has_spectrum = grid.spectrum;
  c.rms_dz.assign(std::size_t(spec.depth), 0);
  c.grad_w_norm.assign(std::size_t(spec.depth), 0);
  std::map<Verdict, long> votes;
  Verdict first = Verdict::Unknown;
  double log_total = 0;
  const double n = double(grid.repeats);
  for (long r = 0; r < grid.repeats; ++r) {
    const Pass p = run_pass(grid, spec, mix(mix(grid.seed, spec.index), std::uint64_t(r)));
    c.gains.push_back(p.gain);
    log_total += std::log(p.total_gain) / n;
    if (r == 0) first = p.verdict;
    ++votes[p.verdict];
    for (std::size_t l = 0; l < p.rms_dz.size() && l < c.rms_dz.size(); ++l) c.rms_dz[l] += p.rms_dz[l] / n;
    for (std::size_t l = 0; l < c.grad_w_norm.size(); ++l) c.grad_w_norm[l] += p.grad_w_norm[l] / n;
    c.spectrum.s2_mean += p.spectrum.s2_mean / n;
    c.spectrum.s2_var += p.spectrum.s2_var / n;
    c.spectrum.s_max += p.spectrum.s_max / n;
    c.spectrum.s2.insert(c.spectrum.s2.end(), p.spectrum.s2.begin(), p.spectrum.s2.end());
  }
  std::sort(c.spectrum.s2.begin(), c.spectrum.s2.end());
  Verdict verdict = first;
  for (const auto& [v, count] : votes)
    if (count > votes[verdict]) verdict = v;
  c.verdict = std::string(to_string(verdict));
  double sum = 0, sq = 0;
  for (double g : c.gains) sum += g;
  c.gain = sum / n;
  for (double g : c.gains) sq += (g - c.gain) * (g - c.gain);
  c.gain_sd = grid.repeats > 1 ? std::sqrt(sq / (n - 1)) : std::numeric_limits<double>::quiet_NaN();
  c.total_gain = std::exp(log_total);
  return c;
}

std::vector<CellResult> run_sweep(const Grid& grid, Shard shard, unsigned threads,
                                  const Progress& progress) {
  std::vector<CellSpec> todo;
  for (auto& c : cells(grid))
    if (shard.contains(c)) todo.push_back(std::move(c));
  std::vector<CellResult> results(todo.size());
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = unsigned(std::min<std::size_t>(threads, std::max<std::size_t>(todo.size(), 1)));
  std::atomic<std::size_t> next{0}, done{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
#ifdef _OPENMP
    omp_set_num_threads(1);  // the cells are the parallelism; Eigen's products stay on this thread
#endif
    for (std::size_t i; (i = next++) < todo.size();) {
      try {
        results[i] = run_cell(grid, todo[i]);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = todo.size();
      }
      const std::size_t finished = ++done;
      if (progress) progress(finished, todo.size());
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return results;
}

}  // namespace gradscope::study
