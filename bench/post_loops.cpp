#include "post_loops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <gradscope/ops/simd.hpp>
#include <gradscope/ops/vector_math.hpp>

namespace gradscope::bench {

namespace {

constexpr int kHidden = kPostLayers - 1;  // hidden layers; layer kHidden is the output
constexpr int kBlock = 128;               // samples per block: 19 KB of activations, within L1

// The number types the step runs on: double, a vector of doubles (ops/simd.hpp), or Counted.
template <class D>
constexpr int kLanes = int(sizeof(D) / sizeof(double));

// A double that counts the operations done on it (count_one_step).
struct Counted {
  double v;
  Counted() = default;
  Counted(double x) : v(x) {}
  static inline long long ops = 0, exps = 0;
  friend Counted operator+(Counted a, Counted b) { return ++ops, a.v + b.v; }
  friend Counted operator-(Counted a, Counted b) { return ++ops, a.v - b.v; }
  friend Counted operator*(Counted a, Counted b) { return ++ops, a.v * b.v; }
  friend Counted operator/(Counted a, Counted b) { return ++ops, a.v / b.v; }
  friend Counted operator-(Counted a) { return ++ops, -a.v; }
  friend bool operator>(Counted a, Counted b) { return ++ops, a.v > b.v; }
  friend Counted exp(Counted a) { return ++exps, std::exp(a.v); }
  Counted& operator+=(Counted b) { return *this = *this + b; }
};

// Helpers that take vectors by reference only: passing a 32-byte vector by value from code
// compiled for SSE2 is an ABI hazard (ops/simd.hpp).
template <class D>
inline __attribute__((always_inline)) void load(D& d, const double* p) {
  std::memcpy(&d, p, sizeof d);
}
template <class D>
inline __attribute__((always_inline)) void store(double* p, const D& d) {
  std::memcpy(p, &d, sizeof d);
}
template <class D>
inline __attribute__((always_inline)) void broadcast(D& d, double x) {
  if constexpr (kLanes<D> == 1)
    d = D(x);
  else
    d = D{} + x;
}
template <class D>
inline __attribute__((always_inline)) double lane_sum(const D& d) {
  double s = 0;
  if constexpr (kLanes<D> == 1)
    std::memcpy(&s, &d, sizeof s);
  else
    for (int k = 0; k < kLanes<D>; ++k) s += d[k];
  return s;
}

// z[0..n) = σ(z[0..n)): libm's exp one element at a time, or the library's vectorised σ.
template <class D>
inline __attribute__((always_inline)) void sigmoid(double* z, int n) {
  if constexpr (kLanes<D> == 1) {
    for (int j = 0; j < n; ++j) {
      D x;
      load(x, z + j);
      using std::exp;
      const D s = D(1.0) / (D(1.0) + exp(-x));
      store(z + j, s);
    }
  } else {
    ops::vec::sigmoid_many(z, z, std::size_t(n));
  }
}

// The gradient sums over samples, in D's lanes.
template <class D>
struct Sums {
  D w[kPostLayers][4];
  D b[kPostLayers][2];
};

// Samples [0, n) of one block, n <= kBlock and a multiple of D's lanes: forward through every
// layer (keeping the hidden activations; relu'(z) > 0 exactly where relu(z) > 0), σ of the
// output, then backward from dz = σ(z) - y, adding each sample's terms to s.
template <class D>
inline __attribute__((always_inline)) void block(const PostParams& p, const double* x0,
                                                 const double* x1, const double* y, int n,
                                                 Sums<D>& s) {
  constexpr int L = kLanes<D>;
  double act[kHidden][2][kBlock];
  double out[kBlock];
  D w[kPostLayers][4], b[kPostLayers][2];
  for (int l = 0; l < kPostLayers; ++l) {
    for (int k = 0; k < 4; ++k) broadcast(w[l][k], p.w[l][k]);
    for (int k = 0; k < 2; ++k) broadcast(b[l][k], p.b[l][k]);
  }
  const D zero{};
  for (int j = 0; j < n; j += L) {
    D a0, a1;
    load(a0, x0 + j);
    load(a1, x1 + j);
    for (int l = 0; l < kHidden; ++l) {
      const D z0 = w[l][0] * a0 + w[l][2] * a1 + b[l][0];
      const D z1 = w[l][1] * a0 + w[l][3] * a1 + b[l][1];
      a0 = z0 > zero ? z0 : zero;
      a1 = z1 > zero ? z1 : zero;
      store(act[l][0] + j, a0);
      store(act[l][1] + j, a1);
    }
    const D z = w[kHidden][0] * a0 + w[kHidden][2] * a1 + b[kHidden][0];
    store(out + j, z);
  }
  sigmoid<D>(out, n);
  for (int j = 0; j < n; j += L) {
    D dz, t, p0, p1;
    load(dz, out + j);
    load(t, y + j);
    dz = dz - t;
    load(p0, act[kHidden - 1][0] + j);
    load(p1, act[kHidden - 1][1] + j);
    s.w[kHidden][0] += p0 * dz;
    s.w[kHidden][2] += p1 * dz;
    s.b[kHidden][0] += dz;
    const D g0 = w[kHidden][0] * dz, g1 = w[kHidden][2] * dz;  // both, so that Counted counts them
    D d0 = p0 > zero ? g0 : zero;
    D d1 = p1 > zero ? g1 : zero;
    for (int l = kHidden - 1; l >= 0; --l) {
      load(p0, l ? act[l - 1][0] + j : x0 + j);
      load(p1, l ? act[l - 1][1] + j : x1 + j);
      s.w[l][0] += p0 * d0;
      s.w[l][1] += p0 * d1;
      s.w[l][2] += p1 * d0;
      s.w[l][3] += p1 * d1;
      s.b[l][0] += d0;
      s.b[l][1] += d1;
      if (l > 0) {
        const D n0 = w[l][0] * d0 + w[l][1] * d1;
        const D n1 = w[l][2] * d0 + w[l][3] * d1;
        d0 = p0 > zero ? n0 : zero;
        d1 = p1 > zero ? n1 : zero;
      }
    }
  }
}

// g += the gradient sums over samples [0, n), n a multiple of D's lanes.
template <class D>
inline __attribute__((always_inline)) void accumulate(const PostParams& p, const double* x0,
                                                      const double* x1, const double* y, int n,
                                                      PostParams& g) {
  Sums<D> s{};
  for (int j = 0; j < n; j += kBlock)
    block<D>(p, x0 + j, x1 + j, y + j, std::min(kBlock, n - j), s);
  for (int l = 0; l < kPostLayers; ++l) {
    for (int k = 0; k < 4; ++k) g.w[l][k] += lane_sum(s.w[l][k]);
    for (int k = 0; k < 2; ++k) g.b[l][k] += lane_sum(s.b[l][k]);
  }
}

void accumulate_scalar(const PostParams& p, const double* x0, const double* x1, const double* y,
                       int n, PostParams& g) {
  accumulate<double>(p, x0, x1, y, n, g);
}

// The lanes of the widest vectors this CPU has, which the library's kernels run on too.
int vector_lanes() {
  int lanes = 0;
  simd::with_lanes([&](auto l) { lanes = decltype(l)::value; });
  return lanes;
}

// The vector version on those vectors, for the samples up to the last full vector; the scalar one
// takes the rest.
void accumulate_vector(const PostParams& p, const double* x0, const double* x1, const double* y,
                       int n, PostParams& g) {
  simd::with_lanes([&](auto lanes) __attribute__((always_inline)) {
    using Vector = typename simd::Lanes<decltype(lanes)::value>::D;
    const int whole = n - n % kLanes<Vector>;
    accumulate<Vector>(p, x0, x1, y, whole, g);
    accumulate_scalar(p, x0 + whole, x1 + whole, y + whole, n - whole, g);
  });
}

}  // namespace

PostLoop::PostLoop(const PostData& data, Lanes lanes)
    : x0_(data.x.cols()), x1_(data.x.cols()), y_(data.y.data(), data.y.data() + data.y.cols()),
      vector_(lanes == Lanes::Vector) {
  for (Eigen::Index j = 0; j < data.x.cols(); ++j) {
    x0_[j] = data.x(0, j);
    x1_[j] = data.x(1, j);
  }
  // As GradscopePostNet: hidden w = 1.1·I, output w = [1, 1]ᵀ, b = 0.
  for (int l = 0; l < kHidden; ++l) p_.w[l] = {1.1, 0, 0, 1.1};
  p_.w[kHidden] = {1, 0, 1, 0};
}

std::string PostLoop::what() const {
  if (!vector_) return "scalar";
  const int lanes = vector_lanes();
#ifdef GRADSCOPE_MULTIVERSION
  const std::string isa = lanes == 8 ? "AVX-512, " : lanes == 4 ? "AVX2+FMA, " : "SSE2, ";
#else
  const std::string isa;
#endif
  return isa + std::to_string(lanes) + " lanes";
}

// Gradient descent on the mean over samples, as GradscopePostNet::update.
void PostLoop::step() {
  PostParams g{};
  const int m = int(y_.size());
  (vector_ ? accumulate_vector : accumulate_scalar)(p_, x0_.data(), x1_.data(), y_.data(), m, g);
  for (int l = 0; l < kPostLayers; ++l) {
    for (int k = 0; k < 4; ++k) p_.w[l][k] -= kPostRate * (g.w[l][k] / m);
    for (int k = 0; k < 2; ++k) p_.b[l][k] -= kPostRate * (g.b[l][k] / m);
  }
}

PostLoop::Count PostLoop::count_one_step(const PostData& data) {
  const PostLoop loop(data, Lanes::Scalar);
  const int m = int(loop.y_.size());
  PostParams g{};
  Counted::ops = Counted::exps = 0;
  accumulate<Counted>(loop.p_, loop.x0_.data(), loop.x1_.data(), loop.y_.data(), m, g);
  // Plus the update's 3 operations per parameter: 9 hidden layers of 4 + 2, and the output's 2 + 1.
  constexpr int kParams = kHidden * 6 + 3;
  return {double(Counted::ops + 3 * kParams), double(Counted::exps)};
}

}  // namespace gradscope::bench
