#pragma once
// Recurrent networks unrolled over time: a vanilla RNN cell and an LSTM cell.
//
//   RNN   z_t = W_rec h_{t-1} + W_in x_t + b,  h_t = φ(z_t)  (φ tanh or identity; Elman 1990)
//   LSTM  z_t = W_rec h_{t-1} + W_in x_t + b   (4H rows: input, forget, cell, output gates)
//         i, f, o = σ(z_i), σ(z_f), σ(z_o),  g = tanh(z_g)
//         c_t = f ⊙ c_{t-1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)          (Hochreiter & Schmidhuber 1997,
//                                                                  with the forget gate of Gers 2000)
// h_0 = c_0 = 0. Each time step is recorded in a layer record opened under the cell's name
// (Graph::layer), so a sequence of T steps is T units of that one scope; W_rec, z_t and h_t are
// marked as the unit's weight, pre-activation and activation. The diagnosis through time
// (instruments/through_time.hpp) reads the units back in order.
#include <string>
#include <string_view>
#include <vector>

#include "gradscope/models/activation.hpp"
#include "gradscope/models/dense.hpp"
#include "gradscope/models/init.hpp"

namespace gradscope::models {

enum class Cell { Rnn, Lstm };
// "rnn", "lstm"; anything else throws Error listing them.
Cell parse_cell(std::string_view name);
std::string_view cell_name(Cell cell);

// How W_rec is drawn, scaled by s: s·Q with Q orthogonal (all singular values s), entries
// N(0, s²/H) (spectral radius ≈ s for large H, singular values spread up to ≈ 2s), or s·I.
enum class RecurrentInit { Orthogonal, Gaussian, Identity };
// "orthogonal", "gaussian", "identity"; anything else throws Error listing them.
RecurrentInit parse_recurrent_init(std::string_view name);
std::string_view recurrent_init_name(RecurrentInit kind);
// The initialiser of an H x H recurrent weight; throws Error for a scale that is not finite and > 0.
Init recurrent_weight_init(RecurrentInit kind, double scale, Eigen::Index hidden);

struct RecurrentSpec {
  Cell cell = Cell::Rnn;
  Eigen::Index inputs = 1;
  Eigen::Index hidden = 64;
  Activation activation = Activation::Tanh;  // the RNN's φ: tanh or identity (the LSTM's are fixed)
  RecurrentInit rec_init = RecurrentInit::Orthogonal;
  double rec_scale = 1;
  Init in_init = Init::xavier_uniform();  // W_in
  double forget_bias = 1;                 // the LSTM's forget-gate bias at the start (Gers 2000)
};

template <class T>
class Recurrent {
 public:
  // name: the scope each time step records in. Throws Error for an RNN activation other than tanh
  // or identity, or for sizes < 1.
  Recurrent(std::string name, const RecurrentSpec& spec, Rng& rng);

  // xs[t] (inputs x samples) for t = 0 .. T-1, T >= 1; returns h_1 .. h_T (hidden x samples).
  std::vector<Var<T>> forward(const std::vector<Var<T>>& xs);

  const RecurrentSpec& spec() const { return spec_; }
  Parameter<T>& w_rec() { return w_rec_; }
  std::vector<Parameter<T>*> parameters() { return {&w_rec_, &w_in_, &b_}; }

 private:
  std::string name_;
  RecurrentSpec spec_;
  Parameter<T> w_rec_, w_in_, b_;
};

// A recurrent network reading a sequence and predicting from its last hidden state through a
// linear head ("out", a Dense layer): the model of the adding problem.
template <class T>
class SequenceRegressor {
 public:
  SequenceRegressor(const RecurrentSpec& spec, Eigen::Index outputs, Rng& rng);
  // xs as Recurrent::forward; the prediction, outputs x samples.
  Var<T> forward(Graph<T>& g, const std::vector<Eigen::MatrixXd>& xs);
  Recurrent<T>& cell() { return cell_; }
  std::vector<Parameter<T>*> parameters();

 private:
  Recurrent<T> cell_;
  Dense<T> head_;
};

extern template class Recurrent<double>;
extern template class Recurrent<float>;
extern template class SequenceRegressor<double>;
extern template class SequenceRegressor<float>;

}  // namespace gradscope::models
