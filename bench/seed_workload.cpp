#include "seed_workload.hpp"

#include <cmath>
#include <random>

namespace gradscope::bench {

SeedData::SeedData() : x(2, 2 * kPerClass), y(1, 2 * kPerClass) {
  // NumPy's s = randn(n, 2) R + mu with R the (lower) Cholesky factor of [[1, 0.5], [1.5, 3]].
  const double r10 = 1.5, r11 = std::sqrt(3.0 - r10 * r10);
  std::mt19937_64 rng(20261124);
  std::normal_distribution<double> normal;
  for (int j = 0; j < 2 * kPerClass; ++j) {
    const bool second = j >= kPerClass;
    const double n0 = normal(rng), n1 = normal(rng);
    x(0, j) = n0 + r10 * n1 + (second ? 17.0 : 2.0);
    x(1, j) = r11 * n1 + (second ? 10.0 : 3.0);
    y(0, j) = second ? 1.0 : 0.0;
  }
}

namespace {
// Layer l (0-based) maps in_units(l) to out_units(l): 2 -> 2 everywhere but the 2 -> 1 output.
int out_units(int l) { return l + 1 < kSeedLayers ? 2 : 1; }
Matrix<double> initial_w(int l) {
  return l + 1 < kSeedLayers ? Matrix<double>(1.1 * Matrix<double>::Identity(2, 2))
                             : Matrix<double>(Matrix<double>::Ones(2, 1));
}
}  // namespace

GradscopeSeedNet::GradscopeSeedNet(const SeedData& data, bool fused) : data_(data), fused_(fused) {
  params_.reserve(2 * kSeedLayers);
  for (int l = 0; l < kSeedLayers; ++l) {
    params_.emplace_back(initial_w(l), "w");
    params_.emplace_back(Matrix<double>::Zero(out_units(l), 1), "b");
    scopes_[l] = "layer" + std::to_string(l + 1);
  }
}

double GradscopeSeedNet::step() {
  const Var<double> loss = record();
  g_.backward(loss);
  update();
  return loss.item();
}

Var<double> GradscopeSeedNet::record() {
  g_.clear();
  Var<double> a = g_.constant(data_.x, "x");
  const Var<double> y = g_.constant(data_.y, "y");
  Var<double> loss;
  for (int l = 0; l < kSeedLayers; ++l) {
    auto scope = g_.scope(scopes_[l]);
    const auto w = g_.param(params_[2 * l]);
    const auto b = g_.param(params_[2 * l + 1]);
    const auto z = (matmul(transpose(w), a) + b).named("z");
    if (l + 1 < kSeedLayers)
      a = relu(z).named("a");
    else
      loss = fused_ ? bce_with_logits(z, y) : bce(sigmoid(z).named("a"), y);
  }
  return loss;
}

void GradscopeSeedNet::update() {
  for (auto& p : params_) {
    p.value() -= kSeedRate * p.grad();
    p.zero_grad();
  }
}

LoopSeedNet::LoopSeedNet(const SeedData& data)
    : m_(int(data.x.cols())), x_(2 * std::size_t(m_)), y_(data.y.data(), data.y.data() + m_) {
  for (int j = 0; j < m_; ++j)
    for (int i = 0; i < 2; ++i) x_[i * std::size_t(m_) + j] = data.x(i, j);
  for (int l = 0; l < kSeedLayers; ++l) {
    in_[l] = 2;
    out_[l] = out_units(l);
    const Matrix<double> w = initial_w(l);
    w_[l].resize(in_[l] * out_[l]);
    for (int i = 0; i < in_[l]; ++i)
      for (int o = 0; o < out_[l]; ++o) w_[l][i * out_[l] + o] = w(i, o);
    b_[l].assign(out_[l], 0.0);
    z_[l].resize(std::size_t(out_[l]) * m_);
    a_[l].resize(std::size_t(out_[l]) * m_);
    dz_[l].resize(std::size_t(out_[l]) * m_);
  }
  dw_.resize(4);
  db_.resize(2);
}

// The seed's loop: z = wᵀa + b, a = relu(z) (sigmoid at the output); dz_L = a_L - y,
// dz_l = (w_{l+1} dz_{l+1}) * relu'(z_l), dw_l = a_{l-1} dz_lᵀ / m, db_l = Σ dz_l / m, then
// w -= α dw, b -= α db (each w_l is updated only after it has propagated dz_{l-1}).
void LoopSeedNet::step() {
  const std::size_t m = m_;
  for (int l = 0; l < kSeedLayers; ++l) {
    const double* prev = l ? a_[l - 1].data() : x_.data();
    const bool output = l + 1 == kSeedLayers;
    for (int o = 0; o < out_[l]; ++o) {
      double* z = z_[l].data() + o * m;
      double* a = a_[l].data() + o * m;
      for (std::size_t j = 0; j < m; ++j) z[j] = b_[l][o];
      for (int i = 0; i < in_[l]; ++i) {
        const double w = w_[l][i * out_[l] + o];
        const double* p = prev + i * m;
        for (std::size_t j = 0; j < m; ++j) z[j] += w * p[j];
      }
      if (output)
        for (std::size_t j = 0; j < m; ++j) a[j] = 1.0 / (1.0 + std::exp(-z[j]));
      else
        for (std::size_t j = 0; j < m; ++j) a[j] = z[j] > 0 ? z[j] : 0.0;
    }
  }
  const int last = kSeedLayers - 1;
  for (std::size_t j = 0; j < m; ++j) dz_[last][j] = a_[last][j] - y_[j];
  for (int l = last; l >= 0; --l) {
    const double* prev = l ? a_[l - 1].data() : x_.data();
    const int in = in_[l], out = out_[l];
    for (int o = 0; o < out; ++o) {
      const double* dz = dz_[l].data() + o * m;
      double db = 0;
      for (std::size_t j = 0; j < m; ++j) db += dz[j];
      db_[o] = db / m;
      for (int i = 0; i < in; ++i) {
        const double* p = prev + i * m;
        double dw = 0;
        for (std::size_t j = 0; j < m; ++j) dw += p[j] * dz[j];
        dw_[i * out + o] = dw / m;
      }
    }
    if (l > 0)
      for (int i = 0; i < in; ++i) {
        double* dprev = dz_[l - 1].data() + i * m;
        const double* zprev = z_[l - 1].data() + i * m;
        for (std::size_t j = 0; j < m; ++j) {
          double s = 0;
          for (int o = 0; o < out; ++o) s += w_[l][i * out + o] * dz_[l][o * m + j];
          dprev[j] = zprev[j] > 0 ? s : 0.0;
        }
      }
    for (int k = 0; k < in * out; ++k) w_[l][k] -= kSeedRate * dw_[k];
    for (int o = 0; o < out; ++o) b_[l][o] -= kSeedRate * db_[o];
  }
}

}  // namespace gradscope::bench
