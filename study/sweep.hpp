#pragma once
// A sweep: a grid of wide random networks (activation x initialiser x depth x width), each given
// one backward pass per seed on random unit-variance inputs, measured by the gradient diagnosis
// (instruments/diagnosis.hpp) beside a theory of the architecture (instruments/mean_field.hpp,
// instruments/through_time.hpp) and, on request, the singular values of the input–output Jacobian.
//
// Every network is `depth` units of `width` on `width` inputs (the same activation in every unit),
// with the loss L = Σ r ⊙ (the last unit's output) for a fixed random r ~ N(0, 1): a gradient at
// the output that does not depend on the network, so what reaches each unit is what the units did
// to it. The units, by Grid::arch:
//   mlp       dense layers z = Wa + b (with Grid::norm "layer": z = LN(Wa + b)), a = φ(z)
//   residual  residual blocks a + W₂ φ(W₁a + b₁) + b₂, W₂ scaled by 1/√depth (models/residual.hpp)
//   rnn, lstm a recurrent cell of `width` hidden units unrolled over depth = T steps, a fresh input
//             x_t ~ N(0, 1) at every step; W_rec by Grid::rec_init and rec_scale (its σ_w² is
//             rec_scale²), W_in xavier. The units are the time steps (through_time.hpp).
//
// Results depend only on the grid: cell i's seeds are derived from (grid.seed, i, repeat), so any
// number of threads and any split into shards give the same numbers.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/autodiff/graph.hpp"
#include "gradscope/instruments/mean_field.hpp"

namespace gradscope::study {

// The grid, as `gradscope sweep`'s options of the same names set it.
struct Grid {
  std::string arch = "mlp";  // mlp, residual, rnn or lstm
  std::string norm = "none";  // mlp, residual: none or layer
  std::string rec_init = "orthogonal";  // rnn, lstm: orthogonal, gaussian or identity
  double rec_scale = 1;                 // rnn, lstm: the scale s of W_rec
  // rnn, lstm: depths are the steps T, widths the hidden size, and the inits and σ lists are not
  // read (W_rec is rec_init at rec_scale); acts are tanh or identity (lstm: tanh, its gates fixed).
  std::vector<long> depths{30};
  std::vector<long> widths{256};
  std::vector<std::string> acts{"relu"};
  // identity (the post's s·I, s = identity_scale), gaussian (W ~ N(0, σ_w²/n), b ~ N(0, σ_b²), for
  // each σ_w² and σ_b² listed), xavier (glorot), he (kaiming), orthogonal, fan_in_uniform
  // (U[±1/√n], the "standard" initialisation of Glorot & Bengio 2010), critical (gaussian at the
  // edge of chaos: for each σ_b², the σ_w² where χ₁ = 1). Biases are zero except for gaussian and
  // critical.
  std::vector<std::string> inits{"he"};
  std::vector<double> sigma_w2{1};
  std::vector<double> sigma_b2{0};
  double identity_scale = 0.8;
  long repeats = 3;   // seeds per cell
  long samples = 32;  // inputs per pass
  std::uint64_t seed = 0;
  bool spectrum = false;  // the Jacobian's singular values (exact SVD; width <= kMaxSpectrumWidth)
};
inline constexpr long kMaxSpectrumWidth = 1024;

// One network of the grid. index is its position in the grid's order: act, init, σ_w², σ_b²,
// depth, width, the last varying fastest.
struct CellSpec {
  std::size_t index = 0;
  std::string arch, norm;  // the grid's
  std::string act, init;  // init: the canonical name (glorot reads xavier); rnn, lstm: rec_init
  long depth = 0, width = 0;
  double sigma_w2 = 0, sigma_b2 = 0;  // of the weights as drawn: n·Var(W_ij) and Var(b_i)
};

// Every cell of the grid, in order, with σ_w² solved for `critical`. Throws Error naming the
// option and value for an unknown architecture, normalisation, activation or initialiser, an empty
// list, a depth below 3 (the gain spans layers 1..L-1; rnn, lstm: below 2 steps), a width below 1
// (2 with layer norm), σ_w² <= 0, σ_b² < 0, a rec_scale not finite and > 0, repeats or samples
// below 1, a spectrum wider than kMaxSpectrumWidth or of any network but a plain mlp, layer norm
// for rnn or lstm, an rnn activation other than tanh or identity, or no edge of chaos for
// `critical`.
std::vector<CellSpec> cells(const Grid& grid);

// Part `index` (1-based) of `count`: the cells whose grid index is index - 1 modulo count.
struct Shard {
  std::size_t index = 1, count = 1;
  bool contains(const CellSpec& c) const { return c.index % count == index - 1; }
};
// "I/N" with 1 <= I <= N; anything else throws Error quoting it.
Shard parse_shard(std::string_view text);

struct JacobianSpectrum {  // of the input–output Jacobian at the first input
  double s2_mean = 0, s2_var = 0, s_max = 0;  // means over seeds
  std::vector<double> s2;                     // every seed's s², pooled, ascending
};

struct CellResult {
  CellSpec spec;
  // The theory's gain per unit beside the measurement, and what it is (theory_kind):
  //   "mean-field"             mlp: mean_field(), with its q*, χ₁ and ξ
  //   "mean-field layer norm"  mlp with layer norm: layer_norm_gain()
  //   "mean-field residual"    residual (either norm): residual_gain()
  //   "pascanu bound"          rnn: σ_max(W_rec)·γ, mean over seeds (an upper bound, not a
  //                            prediction: the measured gain may be below it)
  //   "none"                   lstm: no bound, its cell state's path is not governed by W_rec
  // Where the theory is not mean_field(), only theory.gain is set (NaN for "none"), the rest NaN.
  MeanField theory;
  std::string theory_kind;
  // The diagnosis's network gain, per seed, then their mean and sample standard deviation (NaN
  // for one seed).
  std::vector<double> gains;
  double gain = 0, gain_sd = 0;
  double total_gain = 0;  // geometric mean over seeds of rms(dz_1) / rms(dz_L)
  std::string verdict;    // the diagnosis's verdict most seeds got (ties: the earliest seed's)
  // Per unit, 1 (next to the input) first, means over seeds: rms of dL/dz and ‖dL/dW‖ (of W₁ in
  // a block). rnn, lstm: rms of dL/dh_t per step, and no ‖dL/dW‖ (one W_rec serves every step).
  std::vector<double> rms_dz, grad_w_norm;
  bool has_spectrum = false;
  JacobianSpectrum spectrum;
};

// One cell: its seeds' passes and the theory. Each pass records into g, cleared first: a worker
// that gives its cells one graph reuses the memory its arenas already hold, where a new graph
// would have its pages mapped again.
CellResult run_cell(const Grid& grid, const CellSpec& spec, Graph<double>& g);

// About the most memory, in bytes, one pass of the cell holds at once (run_cell's passes run one
// after another): its weights and the graph's values and gradients. An estimate at most 60% above
// the peak resident memory (tests/study/sweep_memory_test.cpp; the graph's arenas grow by
// doubling), so that a grid too large for the machine can be refused before it runs.
double cell_bytes(const Grid& grid, const CellSpec& spec);

// The cores this process may run on: its CPU affinity where the system has one (taskset, a
// container's cpuset), else every online core; at least 1.
unsigned available_cores();

// The cells of `shard` among all (cells(grid), as solved once), on `threads` threads (0: one per
// available core), in grid order. progress, if set, is called after each cell with (cells done,
// cells in the shard), from the thread that ran it.
using Progress = std::function<void(std::size_t, std::size_t)>;
std::vector<CellResult> run_sweep(const Grid& grid, const std::vector<CellSpec>& all,
                                  Shard shard = {}, unsigned threads = 0,
                                  const Progress& progress = {});

}  // namespace gradscope::study
