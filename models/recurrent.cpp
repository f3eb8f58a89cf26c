#include "gradscope/models/recurrent.hpp"

#include <cmath>

namespace gradscope::models {

namespace {
constexpr std::string_view kCells[] = {"rnn", "lstm"};
constexpr std::string_view kRecurrentInits[] = {"orthogonal", "gaussian", "identity"};

// The index of name in names, or an Error naming what and listing names.
template <std::size_t N>
std::size_t lookup(const std::string_view (&names)[N], std::string_view name, const char* what) {
  for (std::size_t k = 0; k < N; ++k)
    if (names[k] == name) return k;
  std::string list;
  for (std::size_t k = 0; k < N; ++k) list += fmt::format("{}{}", k ? ", " : "", names[k]);
  fail("unknown {} '{}' (expected {})", what, name, list);
}
}  // namespace

Cell parse_cell(std::string_view name) { return Cell(lookup(kCells, name, "recurrent cell")); }
std::string_view cell_name(Cell cell) { return kCells[int(cell)]; }
RecurrentInit parse_recurrent_init(std::string_view name) {
  return RecurrentInit(lookup(kRecurrentInits, name, "recurrent initialiser"));
}
std::string_view recurrent_init_name(RecurrentInit kind) { return kRecurrentInits[int(kind)]; }

Init recurrent_weight_init(RecurrentInit kind, double scale, Eigen::Index hidden) {
  if (!std::isfinite(scale) || !(scale > 0))
    fail("recurrent weight scale must be finite and > 0, got {}", scale);
  switch (kind) {
    case RecurrentInit::Orthogonal: return Init::orthogonal(scale);
    case RecurrentInit::Gaussian: return Init::normal(0, scale / std::sqrt(double(hidden)));
    case RecurrentInit::Identity: return Init::scaled_identity(scale);
  }
  fail("recurrent initialiser code {} out of range", int(kind));
}

namespace {
Eigen::Index gate_rows(const RecurrentSpec& s) { return s.cell == Cell::Lstm ? 4 * s.hidden : s.hidden; }

RecurrentSpec checked(const std::string& name, const RecurrentSpec& s) {
  if (s.inputs < 1 || s.hidden < 1)
    fail("recurrent '{}': {} inputs, {} hidden units; both must be at least 1", name, s.inputs,
         s.hidden);
  if (s.cell == Cell::Rnn && s.activation != Activation::Tanh && s.activation != Activation::Identity)
    fail("recurrent '{}': the RNN's activation is tanh or identity, not {}", name,
         activation_name(s.activation));
  return s;
}

// W_rec: the H x H recurrent block, stacked once per gate for the LSTM (each gate's block drawn
// by the recurrent initialiser, as Keras's recurrent_initializer does per gate).
template <class T>
Matrix<T> recurrent_weight(const RecurrentSpec& s, Rng& rng) {
  const Init init = recurrent_weight_init(s.rec_init, s.rec_scale, s.hidden);
  Matrix<T> w(gate_rows(s), s.hidden);
  for (Eigen::Index k = 0; k < w.rows(); k += s.hidden)
    w.middleRows(k, s.hidden) = initialize<T>(init, s.hidden, s.hidden, s.hidden, s.hidden, rng);
  return w;
}

template <class T>
Matrix<T> bias(const RecurrentSpec& s) {
  Matrix<T> b = Matrix<T>::Zero(gate_rows(s), 1);
  if (s.cell == Cell::Lstm) b.middleRows(s.hidden, s.hidden).setConstant(T(s.forget_bias));
  return b;
}
}  // namespace

template <class T>
Recurrent<T>::Recurrent(std::string name, const RecurrentSpec& spec, Rng& rng)
    : name_(std::move(name)),
      spec_(checked(name_, spec)),
      w_rec_(recurrent_weight<T>(spec_, rng), "w_rec"),
      w_in_(initialize<T>(spec_.in_init, gate_rows(spec_), spec_.inputs, spec_.inputs,
                          gate_rows(spec_), rng),
            "w_in"),
      b_(bias<T>(spec_), "b") {}

template <class T>
std::vector<Var<T>> Recurrent<T>::forward(const std::vector<Var<T>>& xs) {
  if (xs.empty()) fail("recurrent '{}': no time steps (an empty sequence)", name_);
  Graph<T>& g = xs.front().graph();
  const auto H = int(spec_.hidden);
  const Matrix<T> zeros = Matrix<T>::Zero(H, xs.front().shape().cols);
  Var<T> h = g.constant(zeros, "h0"), c = g.constant(zeros, "c0");
  std::vector<Var<T>> hs;
  hs.reserve(xs.size());
  for (const Var<T>& x : xs) {
    if (x.shape().rows != std::uint32_t(spec_.inputs))
      fail("recurrent '{}': input '{}' is {}, expected {} rows (features x samples)", name_,
           x.name(), x.shape(), spec_.inputs);
    auto step = g.layer(name_);
    const Var<T> w = g.param(w_rec_);
    const Var<T> z = (matmul(w, h) + matmul(g.param(w_in_), x) + g.param(b_)).named("z");
    if (spec_.cell == Cell::Rnn) {
      h = activate(spec_.activation, z);
    } else {
      const Var<T> i = sigmoid(slice(z, 0, 0, H)), f = sigmoid(slice(z, 0, H, H));
      const Var<T> u = tanh(slice(z, 0, 2 * H, H)), o = sigmoid(slice(z, 0, 3 * H, H));
      c = (f * c + i * u).named("c");
      h = o * tanh(c);
    }
    h = h.named("h");
    g.mark(w, LayerPart::Weight);
    g.mark(z, LayerPart::PreActivation);
    g.mark(h, LayerPart::Activation);
    hs.push_back(h);
  }
  return hs;
}

template class Recurrent<double>;
template class Recurrent<float>;

template <class T>
SequenceRegressor<T>::SequenceRegressor(const RecurrentSpec& spec, Eigen::Index outputs, Rng& rng)
    : cell_("step", spec, rng),
      head_("out", spec.hidden, outputs, Activation::Identity, Orientation::OutIn,
            Init::xavier_uniform(), Init::constant(0), rng) {}

template <class T>
Var<T> SequenceRegressor<T>::forward(Graph<T>& g, const std::vector<Eigen::MatrixXd>& xs) {
  std::vector<Var<T>> in;
  in.reserve(xs.size());
  for (const auto& x : xs) in.push_back(g.constant(Matrix<T>(x.cast<T>())));
  return head_.forward(cell_.forward(in).back()).a;
}

template <class T>
std::vector<Parameter<T>*> SequenceRegressor<T>::parameters() {
  auto p = cell_.parameters();
  p.push_back(&head_.w());
  p.push_back(&head_.b());
  return p;
}

template class SequenceRegressor<double>;
template class SequenceRegressor<float>;

}  // namespace gradscope::models
