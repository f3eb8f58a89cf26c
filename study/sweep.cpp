#include "gradscope/study/sweep.hpp"

#ifdef __linux__
#include <sched.h>
#endif

#include <Eigen/SVD>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>
#include <thread>

#include "gradscope/instruments/diagnosis.hpp"
#include "gradscope/instruments/through_time.hpp"
#include "gradscope/models/activation_op.hpp"
#include "gradscope/models/mlp.hpp"
#include "gradscope/models/recurrent.hpp"
#include "gradscope/models/residual.hpp"
#include "gradscope/ops/product.hpp"

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

bool recurrent(const std::string& arch) { return arch == "rnn" || arch == "lstm"; }

struct Pass {
  double gain, total_gain;
  Verdict verdict;
  std::vector<double> rms_dz, grad_w_norm;
  JacobianSpectrum spectrum;
  double bound = kNoValue;  // rnn: Pascanu's bound for this seed's W_rec
};

Eigen::MatrixXd normal_matrix(models::Rng& rng, Eigen::Index rows, Eigen::Index cols) {
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m(i) = rng.normal();
  return m;
}

// A recurrent cell over depth = T steps of fresh random inputs, L = Σ r ⊙ h_T.
Pass recurrent_pass(const Grid& grid, const CellSpec& c, std::uint64_t seed, Graph<double>& g) {
  models::RecurrentSpec spec;
  spec.cell = models::parse_cell(c.arch);
  spec.inputs = spec.hidden = c.width;
  spec.activation = models::parse_activation(c.act);
  spec.rec_init = models::parse_recurrent_init(c.init);
  spec.rec_scale = grid.rec_scale;
  models::Rng weights(seed);
  models::Recurrent<double> cell("cell", spec, weights);
  models::Rng rng(mix(seed, 1));
  std::vector<Var<double>> xs;
  for (long t = 0; t < c.depth; ++t)
    xs.push_back(g.constant(normal_matrix(rng, c.width, grid.samples), "x"));
  const auto hs = cell.forward(xs);
  g.backward(sum(hs.back() * g.constant(normal_matrix(rng, c.width, grid.samples), "r")));
  const ThroughTime d = diagnose_through_time(g);
  Pass p{d.gain, d.total, d.verdict, {}, {}, {}, d.bound};
  const double size = double(c.width) * double(grid.samples);
  for (double n : d.grad_norm) p.rms_dz.push_back(n / std::sqrt(size));
  return p;
}

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

// Records the pass into g, cleared first.
Pass run_pass(const Grid& grid, const CellSpec& c, std::uint64_t seed, Graph<double>& g) {
  g.clear();
  if (recurrent(c.arch)) return recurrent_pass(grid, c, seed, g);
  const models::Activation act = models::parse_activation(c.act);
  const models::Norm norm = models::parse_norm(c.norm);
  const auto [w_init, b_init] = initialisers(grid, c);
  const auto o = models::Orientation::OutIn;
  std::optional<models::Mlp<double>> net;
  std::vector<models::ResidualBlock<double>> blocks;
  if (c.arch == "mlp") {
    models::MlpBuilder builder(c.width);
    for (long l = 0; l < c.depth; ++l) builder.dense(c.width, act, w_init, b_init, norm);
    net = builder.orientation(o).seed(seed).build<double>();
  } else {
    models::Rng weights(seed);
    for (long l = 1; l <= c.depth; ++l)
      blocks.emplace_back(fmt::format("block{}", l), c.width, act, o, w_init, b_init,
                          1 / std::sqrt(double(c.depth)), norm, weights);
  }
  models::Rng rng(mix(seed, 1));
  const Eigen::MatrixXd x = normal_matrix(rng, c.width, grid.samples);
  const Eigen::MatrixXd r = normal_matrix(rng, c.width, grid.samples);

  models::NetworkForward<double> fwd;
  if (net) {
    fwd = net->forward(g.constant(x, "x"));
  } else {
    Var<double> a = g.constant(x, "x");
    for (auto& block : blocks) a = fwd.layers.emplace_back(block.forward(a)).a;
  }
  g.backward(sum(fwd.output().a * g.constant(r, "r")));
  const Diagnosis d = diagnose(g);
  Pass p{d.measured_gain, d.total_gain, d.verdict, {}, {}, {}};
  for (const auto& layer : d.layers) p.rms_dz.push_back(layer.grad_rms);
  for (const auto& layer : fwd.layers) p.grad_w_norm.push_back(layer.w.grad().norm());
  if (grid.spectrum) p.spectrum = spectrum(*net, fwd, act);
  return p;
}

// The theory of a cell's architecture (CellResult's theory_kind); rnn's is filled in from its
// passes, one bound per seed's W_rec.
std::pair<MeanField, std::string> theory(const CellSpec& c) {
  const models::ActivationOp op = models::activation_op(models::parse_activation(c.act));
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  MeanField none{nan, nan, nan, nan};
  const bool layer_norm = models::parse_norm(c.norm) == models::Norm::Layer;
  if (c.arch == "mlp" && !layer_norm)
    return {mean_field(op.op, op.attr, c.sigma_w2, c.sigma_b2), "mean-field"};
  if (c.arch == "mlp") {
    none.gain = layer_norm_gain(op.op, op.attr, c.sigma_w2, c.sigma_b2, double(c.width));
    return {none, "mean-field layer norm"};
  }
  if (c.arch == "residual") {
    none.gain = residual_gain(op.op, op.attr, c.sigma_w2, c.sigma_b2, double(c.width), c.depth,
                              layer_norm);
    return {none, "mean-field residual"};
  }
  return {none, c.arch == "rnn" ? "pascanu bound" : "none"};
}
}  // namespace

std::vector<CellSpec> cells(const Grid& grid) {
  if (grid.arch != "mlp" && grid.arch != "residual" && !recurrent(grid.arch))
    fail("sweep: --arch {}: unknown architecture (expected mlp, residual, rnn or lstm)", grid.arch);
  const bool layer_norm = models::parse_norm(grid.norm) == models::Norm::Layer;
  const bool rec = recurrent(grid.arch);
  if (rec && layer_norm)
    fail("sweep: --norm layer: --arch {} has no normalisation (--norm applies to mlp and residual)",
         grid.arch);
  if (grid.spectrum && (grid.arch != "mlp" || layer_norm))
    fail("sweep: --spectrum: the Jacobian is for --arch mlp without --norm only");
  require_nonempty("--depths", grid.depths);
  require_nonempty("--widths", grid.widths);
  require_nonempty("--acts", grid.acts);
  require_nonempty("--inits", grid.inits);
  require_nonempty("--sigma-w2", grid.sigma_w2);
  require_nonempty("--sigma-b2", grid.sigma_b2);
  for (long d : grid.depths) {
    if (rec && d < 2)
      fail("sweep: --depths {}: --arch {} reads each depth as the steps T, which must be >= 2", d,
           grid.arch);
    if (!rec && d < 3)
      fail("sweep: --depths {}: each depth must be >= 3 (the gain spans layers 1 to L-1)", d);
  }
  for (long w : grid.widths) {
    if (w < 1) fail("sweep: --widths {}: each width must be >= 1", w);
    if (layer_norm && w < 2) fail("sweep: --widths {}: layer norm needs widths >= 2", w);
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
  if (!std::isfinite(grid.rec_scale) || !(grid.rec_scale > 0))
    fail("sweep: --rec-scale {}: must be finite and > 0", grid.rec_scale);

  std::vector<CellSpec> out;
  if (rec) {
    const std::string rec_init(
        models::recurrent_init_name(models::parse_recurrent_init(grid.rec_init)));
    for (const auto& act_name : grid.acts) {
      const models::Activation act = models::parse_activation(act_name);
      const bool linear = act == models::Activation::Identity && grid.arch == "rnn";
      if (act != models::Activation::Tanh && !linear)
        fail("sweep: --acts {}: --arch {} takes {}", act_name, grid.arch,
             grid.arch == "lstm" ? "tanh only (its gates are fixed)" : "tanh or identity");
      for (long depth : grid.depths)
        for (long width : grid.widths)
          out.push_back({out.size(), grid.arch, grid.norm,
                         std::string(models::activation_name(act)), rec_init, depth, width,
                         grid.rec_scale * grid.rec_scale, 0});
    }
    return out;
  }
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
            out.push_back({out.size(), grid.arch, grid.norm,
                           std::string(models::activation_name(act)), init, depth, width, w2, b2});
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

CellResult run_cell(const Grid& grid, const CellSpec& spec, Graph<double>& g) {
  CellResult c;
  c.spec = spec;
  std::tie(c.theory, c.theory_kind) = theory(spec);
  c.has_spectrum = grid.spectrum;
  c.rms_dz.assign(std::size_t(spec.depth), 0);
  c.grad_w_norm.assign(recurrent(spec.arch) ? 0 : std::size_t(spec.depth), 0);
  double bound = 0;
  std::map<Verdict, long> votes;
  Verdict first = Verdict::Unknown;
  double log_total = 0;
  const double n = double(grid.repeats);
  for (long r = 0; r < grid.repeats; ++r) {
    const Pass p = run_pass(grid, spec, mix(mix(grid.seed, spec.index), std::uint64_t(r)), g);
    c.gains.push_back(p.gain);
    log_total += std::log(p.total_gain) / n;
    if (r == 0) first = p.verdict;
    ++votes[p.verdict];
    for (std::size_t l = 0; l < p.rms_dz.size() && l < c.rms_dz.size(); ++l) c.rms_dz[l] += p.rms_dz[l] / n;
    for (std::size_t l = 0; l < c.grad_w_norm.size(); ++l) c.grad_w_norm[l] += p.grad_w_norm[l] / n;
    c.spectrum.s2_mean += p.spectrum.s2_mean / n;
    c.spectrum.s2_var += p.spectrum.s2_var / n;
    c.spectrum.s_max += p.spectrum.s_max / n;
    bound += p.bound / n;
    c.spectrum.s2.insert(c.spectrum.s2.end(), p.spectrum.s2.begin(), p.spectrum.s2.end());
  }
  if (spec.arch == "rnn") c.theory.gain = bound;
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

double cell_bytes(const Grid& grid, const CellSpec& spec) {
  // Per layer, block or step, how many w x w matrices (W) and w x samples ones (A) it holds: a
  // dense layer W's value and gradient and its param node's slots in the graph's value and
  // gradient arenas, and its product, pre-activation and activation with their gradients; layer
  // norm adds its statistics and normalised values; a residual block is two layers; an rnn step
  // records W_rec and W_in again, an lstm step its 4H x H ones, its four gates and cell state.
  // The arenas double their capacity when full, by realloc, whose copy or remapping leaves the
  // capacity not yet written untouched or resident depending on the block's size: the counts are
  // rounded up to bound the peak tests/study/sweep_memory_test.cpp measures.
  struct Cost {
    double w, a;
  };
  const bool norm = models::parse_norm(spec.norm) == models::Norm::Layer;
  const Cost per = spec.arch == "lstm"       ? Cost{17, 62}
                   : spec.arch == "rnn"      ? Cost{5.5, 11}
                   : spec.arch == "residual" ? (norm ? Cost{9, 21} : Cost{9, 11})
                                             : (norm ? Cost{4.5, 17} : Cost{4.5, 7});
  const double w = double(spec.width), W = w * w, A = w * double(grid.samples);
  const double fixed = 2 * A + (grid.spectrum ? 8 * W : 0);  // inputs and r; the Jacobian's SVD
  return sizeof(double) * (double(spec.depth) * (per.w * W + per.a * A) + fixed);
}

unsigned available_cores() {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return unsigned(std::max(1, CPU_COUNT(&set)));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

std::vector<CellResult> run_sweep(const Grid& grid, const std::vector<CellSpec>& all,
                                  Shard shard, unsigned threads, const Progress& progress) {
  std::vector<CellSpec> todo;
  for (const auto& c : all)
    if (shard.contains(c)) todo.push_back(c);
  std::vector<CellResult> results(todo.size());
  if (threads == 0) threads = available_cores();
  threads = unsigned(std::min<std::size_t>(threads, std::max<std::size_t>(todo.size(), 1)));
  std::atomic<std::size_t> next{0}, done{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    Graph<double> g;  // one per worker, its arenas reused from cell to cell
    for (std::size_t i; (i = next++) < todo.size();) {
      try {
        results[i] = run_cell(grid, todo[i], g);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = todo.size();
      }
      const std::size_t finished = ++done;
      if (progress) progress(finished, todo.size());
    }
  };
  // The cells are the parallelism: each cell's products stay on its worker's thread.
  const int product_threads = ops::product_threads();
  if (threads > 1) ops::set_product_threads(1);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  ops::set_product_threads(product_threads);
  if (error) std::rethrow_exception(error);
  return results;
}

}  // namespace gradscope::study
