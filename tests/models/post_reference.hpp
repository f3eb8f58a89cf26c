#pragma once
// The post's NumPy algorithm (forward, hand-derived backward, per-layer dz, dw, db) re-implemented
// with plain loops and std::vector — no Eigen, no graph — as an independent reference for the
// engine's gradients. Orientation as in the post: w[l] is in x out, dz is out x m.
#include <cmath>
#include <vector>

namespace gradscope::testing {

using Vec = std::vector<double>;
using Mat = std::vector<Vec>;  // [row][col]

struct PostPoints {
  Mat x;  // 2 x m
  Vec y;  // m
};

// The 10 + 10 fixed points the post-reference tests use: all coordinates positive, so that a
// ReLU never cuts an input in layer 1 (the post's clusters at (2,3) and (7,6) rarely do either).
inline PostPoints fixed_points() {
  const double pts[20][2] = {{2.1, 3.4}, {1.2, 2.2}, {3.3, 4.1}, {2.7, 2.9}, {0.9, 3.8},
                             {1.8, 2.6}, {2.5, 3.1}, {3.0, 3.6}, {1.4, 2.8}, {2.2, 3.3},
                             {7.2, 6.1}, {6.5, 5.4}, {8.1, 6.9}, {7.7, 6.3}, {6.1, 5.8},
                             {7.0, 6.6}, {8.4, 7.2}, {6.8, 5.9}, {7.5, 6.2}, {6.3, 5.1}};
  PostPoints p{Mat(2, Vec(20)), Vec(20)};
  for (int s = 0; s < 20; ++s) {
    p.x[0][s] = pts[s][0];
    p.x[1][s] = pts[s][1];
    p.y[s] = s < 10 ? 0 : 1;
  }
  return p;
}

enum class Derivative { Relu, Logistic };

struct PostGradients {
  std::vector<Mat> z, a, dz, dw;  // index l = 1..L (0 unused; a[0] = x)
  std::vector<Vec> db;
};

// depth L layers; hidden layers `width` units with w = scale·I and activation relu (sigmoid
// false) or logistic; output w = ones, logistic; b = 0. The hidden layers' backward multiplies by
// `hidden_derivative` — the post's code uses relu_gradient even for its sigmoid net.
inline PostGradients post_backprop(const PostPoints& p, int depth, int width, double scale,
                                   bool sigmoid_hidden, Derivative hidden_derivative) {
  const int m = int(p.y.size());
  const int L = depth;
  auto logistic = [](double z) { return 1 / (1 + std::exp(-z)); };
  std::vector<Mat> w(L + 1);
  std::vector<int> n(L + 1);
  n[0] = int(p.x.size());
  for (int l = 1; l <= L; ++l) {
    n[l] = l < L ? width : 1;
    w[l] = Mat(n[l - 1], Vec(n[l], 0.0));
    for (int i = 0; i < n[l - 1]; ++i)
      for (int j = 0; j < n[l]; ++j) w[l][i][j] = l < L ? (i == j ? scale : 0.0) : 1.0;
  }
  PostGradients g;
  g.z.resize(L + 1);
  g.a.resize(L + 1);
  g.dz.resize(L + 1);
  g.dw.resize(L + 1);
  g.db.resize(L + 1);
  g.a[0] = p.x;
  for (int l = 1; l <= L; ++l) {
    g.z[l] = g.a[l] = Mat(n[l], Vec(m, 0.0));
    for (int j = 0; j < n[l]; ++j)
      for (int s = 0; s < m; ++s) {
        double z = 0;  // b = 0
        for (int i = 0; i < n[l - 1]; ++i) z += w[l][i][j] * g.a[l - 1][i][s];
        g.z[l][j][s] = z;
        g.a[l][j][s] = (l == L || sigmoid_hidden) ? logistic(z) : (z > 0 ? z : 0.0);
      }
  }
  for (int l = L; l >= 1; --l) {
    g.dz[l] = Mat(n[l], Vec(m, 0.0));
    for (int i = 0; i < n[l]; ++i)
      for (int s = 0; s < m; ++s) {
        if (l == L) {
          g.dz[l][i][s] = g.a[l][i][s] - p.y[s];
          continue;
        }
        double back = 0;
        for (int j = 0; j < n[l + 1]; ++j) back += w[l + 1][i][j] * g.dz[l + 1][j][s];
        const double z = g.z[l][i][s];
        const double d = hidden_derivative == Derivative::Relu ? (z > 0 ? 1.0 : 0.0)
                                                               : logistic(z) * (1 - logistic(z));
        g.dz[l][i][s] = back * d;
      }
    g.dw[l] = Mat(n[l - 1], Vec(n[l], 0.0));
    g.db[l] = Vec(n[l], 0.0);
    for (int i = 0; i < n[l - 1]; ++i)
      for (int j = 0; j < n[l]; ++j) {
        for (int s = 0; s < m; ++s) g.dw[l][i][j] += g.a[l - 1][i][s] * g.dz[l][j][s];
        g.dw[l][i][j] /= m;
      }
    for (int j = 0; j < n[l]; ++j) {
      for (int s = 0; s < m; ++s) g.db[l][j] += g.dz[l][j][s];
      g.db[l][j] /= m;
    }
  }
  return g;
}

}  // namespace gradscope::testing
