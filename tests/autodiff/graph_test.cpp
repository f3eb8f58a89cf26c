// Exact-value tests of the engine: gradients known in closed form.
#include <gradscope/autodiff/autodiff.hpp>

#include <catch2/catch.hpp>

using namespace gradscope;
using Catch::Matchers::Contains;

TEST_CASE("x*x has gradient 2x", "[autodiff]") {
  Graph<double> g;
  auto x = g.variable(3.0, "x");
  auto y = x * x;
  g.backward(y);
  CHECK(y.item() == 9.0);
  CHECK(x.grad()(0, 0) == 6.0);
}

TEST_CASE("micrograd-style scalar expression", "[autodiff]") {
  // a = -4, b = 2; c = a + b; d = a*b + b^3; e = c - d; f = e^2; L = f / 2 + 1/f
  Graph<double> g;
  auto a = g.variable(-4.0, "a"), b = g.variable(2.0, "b");
  auto c = a + b;
  auto d = a * b + pow(b, 3.0);
  auto e = c - d;
  auto f = e * e;
  auto L = f / 2.0 + 1.0 / f;
  g.backward(L);
  // e = -2 - 0 = -2, f = 4, L = 2.25; dL/df = 1/2 - 1/f² = 0.4375; dL/de = 2e dL/df = -1.75
  CHECK(L.item() == Approx(2.25));
  // de/da = 1 - b = -1, de/db = 1 - (a + 3b²) = 1 - 8 = -7
  CHECK(a.grad()(0, 0) == Approx(1.75));
  CHECK(b.grad()(0, 0) == Approx(12.25));
}

TEST_CASE("diamond: gradients add where a node feeds two consumers", "[autodiff]") {
  Graph<double> g;
  auto x = g.variable(1.5, "x");
  auto u = exp(x), v = x * 3.0;  // both read x
  auto y = u * v;                // y = 3x eˣ, dy/dx = 3eˣ(1 + x)
  g.backward(y);
  CHECK(x.grad()(0, 0) == Approx(3 * std::exp(1.5) * 2.5).epsilon(1e-14));
}

TEST_CASE("a node that is both inputs of add and matmul gets both contributions", "[autodiff]") {
  // Add, matmul and relu store the first contribution into an unzeroed slot; the repeats run in
  // slots that hold the previous pass's gradients. 2x2 takes matmul's small-factor kernels, 5x5
  // Eigen's product. d/dx Σ(x + x) + Σ(x x) + Σ relu(x) = 2 + 1 xᵀ + xᵀ 1 + [x > 0].
  for (int n : {2, 5}) {
    Matrix<double> xv = Matrix<double>::Random(n, n);
    Parameter<double> p(xv, "x");
    Graph<double> g;
    const Matrix<double> ones = Matrix<double>::Ones(n, n);
    Matrix<double> want = 2 * ones + ones * xv.transpose() + xv.transpose() * ones;
    want += (xv.array() > 0).cast<double>().matrix();
    for (int pass = 0; pass < 3; ++pass) {
      g.clear();
      auto x = g.param(p);
      g.backward(sum(x + x) + sum(matmul(x, x)) + sum(relu(x)));
      CHECK((p.grad() - want).cwiseAbs().maxCoeff() < 1e-12);
      p.zero_grad();
    }
  }
}

TEST_CASE("a node whose one consumer is a sum of its shape has the sum's gradient", "[autodiff]") {
  // p = W X feeds z = p + B: backward leaves dL/dp in z's slot (shared) instead of copying it,
  // through a chain of sums too. Every arrangement must read exactly what a copy would have held.
  const Matrix<double> wv = Matrix<double>::Random(2, 2), xv = Matrix<double>::Random(2, 3),
                       m = Matrix<double>::Random(2, 3), n = Matrix<double>::Random(2, 3);
  Graph<double> g;
  auto record = [&] {
    g.clear();
    auto w = g.variable(wv, "w"), x = g.constant(xv, "x");
    auto p = matmul(w, x);
    return std::make_pair(w, p);
  };
  auto exact = [](const ConstMatrixMap<double>& got, const Matrix<double>& want) {
    return (got - want).cwiseAbs().maxCoeff() < 1e-14;
  };
  SECTION("through two sums") {
    auto [w, p] = record();
    auto z = p + g.variable(Matrix<double>::Ones(2, 3), "b");
    auto c = z + g.constant(n, "c");
    g.backward(sum(c * g.constant(m, "m")));
    CHECK(exact(p.grad(), m));
    CHECK(exact(z.grad(), m));
    CHECK(exact(w.grad(), m * xv.transpose()));
  }
  SECTION("a consumer recorded after the sum ends the sharing") {
    auto [w, p] = record();
    auto z = p + g.constant(n, "b");
    auto q = p * 2.0;
    g.backward(sum(z * g.constant(m, "m")) + sum(q * g.constant(n, "n")));
    CHECK(exact(p.grad(), m + 2 * n));
    CHECK(exact(z.grad(), m));
    CHECK(exact(w.grad(), (m + 2 * n) * xv.transpose()));
  }
  SECTION("both operands of one sum") {
    auto [w, p] = record();
    g.backward(sum((p + p) * g.constant(m, "m")));
    CHECK(exact(p.grad(), 2 * m));
  }
  SECTION("the root is the node, or the sum") {
    auto [w, p] = record();
    auto z = p + g.constant(n, "b");
    g.backward(p, m);  // z is past the root: p keeps its own slot
    CHECK(exact(p.grad(), m));
    CHECK(exact(w.grad(), m * xv.transpose()));
    g.backward(z, n);
    CHECK(exact(p.grad(), n));
    CHECK(exact(z.grad(), n));
    CHECK(exact(w.grad(), n * xv.transpose()));
  }
}

TEST_CASE("an input the root does not depend on gets a zero gradient", "[autodiff]") {
  Graph<double> g;
  auto x = g.variable(2.0, "x"), unused = g.variable(5.0, "unused");
  auto side = unused * unused;  // recorded, but not on the path to the root
  auto y = x * 4.0;
  g.backward(y);
  CHECK(x.grad()(0, 0) == 4.0);
  CHECK(unused.grad()(0, 0) == 0.0);
  CHECK(side.grad()(0, 0) == 0.0);
}

TEST_CASE("a chain of 100,000 scalar ops runs backward without recursion", "[autodiff]") {
  Graph<double> g;
  auto x = g.variable(1.0, "x");
  auto y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0001;  // d y/dx = 1.0001^100000
  g.backward(y);
  CHECK(g.size() == 100001);
  CHECK(x.grad()(0, 0) == Approx(std::pow(1.0001, 100000)).epsilon(1e-9));
}

TEST_CASE("bias broadcast: gradient of a column bias sums over samples", "[autodiff]") {
  Graph<double> g;
  Matrix<double> zv(2, 3), bv(2, 1);
  zv << 1, 2, 3, 4, 5, 6;
  bv << 10, 20;
  auto z = g.variable(zv, "z"), b = g.variable(bv, "b");
  auto y = z + b;
  Matrix<double> expected(2, 3);
  expected << 11, 12, 13, 24, 25, 26;
  CHECK(Matrix<double>(y.value()) == expected);
  Matrix<double> root_grad(2, 3);
  root_grad << 1, 2, 3, 4, 5, 6;
  g.backward(y, root_grad);
  CHECK(Matrix<double>(z.grad()) == root_grad);
  CHECK(b.grad()(0, 0) == 6.0);
  CHECK(b.grad()(1, 0) == 15.0);
}

TEST_CASE("row-vector broadcast and reductions along an axis", "[autodiff]") {
  Graph<double> g;
  Matrix<double> xv(2, 3), rv(1, 3);
  xv << 1, 2, 3, 4, 5, 6;
  rv << 1, 10, 100;
  auto x = g.variable(xv, "x"), r = g.variable(rv, "r");
  auto s0 = sum(x * r, 0);  // 1x3: column sums of x scaled by r
  auto s1 = mean(x, 1);     // 2x1: row means
  CHECK(Matrix<double>(s0.value()) == (Matrix<double>(1, 3) << 5, 70, 900).finished());
  CHECK(Matrix<double>(s1.value()) == (Matrix<double>(2, 1) << 2, 5).finished());
  g.backward(sum(s0) + sum(s1));
  CHECK(Matrix<double>(r.grad()) == (Matrix<double>(1, 3) << 5, 7, 9).finished());
  CHECK(x.grad()(0, 0) == Approx(1 + 1.0 / 3));
  CHECK(x.grad()(1, 2) == Approx(100 + 1.0 / 3));
}

TEST_CASE("reduction axes mean what they mean in NumPy, and no axis reduces every element",
          "[autodiff]") {
  Graph<double> g;
  Matrix<double> xv(2, 3);
  xv << 1, 2, 3, 4, 5, 6;
  auto x = g.variable(xv, "x");
  // -1 is the last axis (columns, like 1): one sum per row; -2 the rows, like 0.
  CHECK(Matrix<double>(sum(x, -1).value()) == (Matrix<double>(2, 1) << 6, 15).finished());
  CHECK(Matrix<double>(sum(x, 1).value()) == Matrix<double>(sum(x, -1).value()));
  CHECK(Matrix<double>(mean(x, -2).value()) == (Matrix<double>(1, 3) << 2.5, 3.5, 4.5).finished());
  CHECK(Matrix<double>(mean(x, 0).value()) == Matrix<double>(mean(x, -2).value()));
  CHECK(sum(x).item() == 21.0);
  CHECK(mean(x).item() == 3.5);
  g.backward(sum(mean(x, -1)));  // each row mean takes 1/3 of each element of its row
  CHECK(Matrix<double>(x.grad()) == Matrix<double>::Constant(2, 3, 1.0 / 3));
  // The same on the scalar path of recording (1x1 operands).
  auto s = g.variable(4.0, "s");
  CHECK(sum(s, -1).item() == 4.0);
  CHECK(mean(s).item() == 4.0);
}

TEST_CASE("parameters accumulate gradients across backward passes until zeroed", "[autodiff]") {
  Parameter<double> w(Matrix<double>::Constant(1, 1, 3.0), "w");
  for (int pass = 1; pass <= 3; ++pass) {
    Graph<double> g;  // a fresh graph each pass: the parameter outlives it
    auto y = g.param(w) * 2.0;
    g.backward(y);
    CHECK(w.grad()(0, 0) == 2.0 * pass);
    CHECK(g.node(0).grad()(0, 0) == 2.0);  // the node holds this pass's contribution only
  }
  w.zero_grad();
  CHECK(w.grad()(0, 0) == 0.0);
}

TEST_CASE("clear() keeps capacity and the graph records again", "[autodiff]") {
  Graph<double> g;
  Parameter<double> w(Matrix<double>::Constant(2, 2, 0.5), "w");
  for (int it = 0; it < 3; ++it) {
    g.clear();
    auto y = sum(matmul(g.param(w), g.constant(Matrix<double>::Ones(2, 4))));
    g.backward(y);
    CHECK(y.item() == 8.0);
  }
  CHECK(w.grad()(0, 0) == 12.0);
}

TEST_CASE("nodes that need no gradient read zeros, whatever their arena slot held", "[autodiff]") {
  Graph<double> g;
  for (int n : {3, 7, 5}) {  // the slots of the first graph's variables, reused by constants
    g.clear();
    auto v = g.variable(Matrix<double>::Constant(2, n, 1.5), "v");
    g.backward(sum(v * 4.0));
    CHECK(Matrix<double>(v.grad()) == Matrix<double>::Constant(2, n, 4.0));
    g.clear();
    auto c = g.constant(Matrix<double>::Constant(2, n, 2.0), "c");
    Var<double> d;
    {
      auto guard = g.no_grad();
      d = c * 3.0;
    }
    auto x = g.variable(Matrix<double>::Ones(2, n), "x");
    g.backward(sum(x * c + d));
    CHECK(Matrix<double>(x.grad()) == Matrix<double>::Constant(2, n, 2.0));
    CHECK(Matrix<double>(c.grad()) == Matrix<double>::Zero(2, n));
    CHECK(Matrix<double>(d.grad()) == Matrix<double>::Zero(2, n));
  }
}

TEST_CASE("no_grad records no gradient path", "[autodiff]") {
  Graph<double> g;
  auto x = g.variable(2.0, "x");
  Var<double> y;
  {
    auto guard = g.no_grad();
    y = x * 3.0;
  }
  CHECK(!g.node(y).requires_grad());
  CHECK_THROWS_WITH(g.backward(y), Contains("root 'scale#1' needs no gradient") &&
                                       Contains("('x')") && Contains("recorded under no_grad"));
  auto z = x * 3.0;
  CHECK(g.node(z).requires_grad());
}

TEST_CASE("float graphs work like double ones", "[autodiff]") {
  Graph<float> g;
  auto x = g.variable(Matrix<float>::Constant(2, 2, 0.5f), "x");
  auto y = mean(sigmoid(x) * 2.0f);
  g.backward(y);
  const float s = 1.0f / (1.0f + std::exp(-0.5f));
  CHECK(y.item() == Approx(2 * s));
  CHECK(x.grad()(1, 1) == Approx(2 * s * (1 - s) / 4));
}

TEST_CASE("a scalar op takes 32 bytes: a 16-byte node, its value and its gradient", "[autodiff]") {
  Graph<double> g;
  auto x = g.variable(0.5);
  auto y = x;
  for (int k = 0; k < 10; ++k) y = tanh(y * x);
  CHECK(g.bytes() == g.size() * (16 + 8));
  g.backward(y);
  CHECK(g.bytes() == g.size() * 32);
}

TEST_CASE("a handle is 24 bytes: graph pointer, node index and a 64-bit epoch", "[autodiff]") {
  // Epochs come from one process-wide counter bumped by every clear() and every new graph: at 64
  // bits it cannot wrap, so a stale handle can never match a later epoch.
  CHECK(sizeof(Var<double>) == 24);
  CHECK(sizeof(Var<float>) == 24);
}

TEST_CASE("pow with exponent 0 has gradient 0 everywhere, at x = 0 and -0 too", "[autodiff]") {
  Graph<double> g;
  Matrix<double> xv(1, 4);
  xv << 0.0, -0.0, 2.0, -3.0;
  auto w = g.variable(2.0, "w");
  auto x = g.variable(xv, "x");
  auto p = pow(x * w, 0.0);  // 1 everywhere, 0^0 included
  CHECK(p.value() == Matrix<double>::Ones(1, 4));
  g.backward(sum(p));
  CHECK(x.grad() == Matrix<double>::Zero(1, 4));  // no NaN from 0 * 0^-1
  CHECK(w.grad()(0, 0) == 0.0);                   // nor upstream of it
}

// The post's demo network: 10 layers of 2 units, ReLU hidden layers, sigmoid output, w = 0.8·I
// (last layer [1,1]ᵀ), b = 0, z = wᵀa + b, binary cross-entropy averaged over the samples.
TEST_CASE("post ReLU network: db shrinks by exactly 0.8 per layer below layer 9", "[autodiff][post]") {
  Matrix<double> x(2, 20), y(1, 20);
  for (int j = 0; j < 20; ++j) {  // positive points of two clusters, labels 0 then 1
    x(0, j) = (j < 10 ? 2.0 : 7.0) + 0.1 * (j % 5);
    x(1, j) = (j < 10 ? 3.0 : 6.0) + 0.05 * (j % 7);
    y(0, j) = j < 10 ? 0 : 1;
  }
  std::vector<Parameter<double>> w, b;
  for (int l = 1; l <= 10; ++l) {
    w.emplace_back(l < 10 ? Matrix<double>(0.8 * Matrix<double>::Identity(2, 2))
                          : Matrix<double>::Ones(2, 1), "w");
    b.emplace_back(Matrix<double>::Zero(l < 10 ? 2 : 1, 1), "b");
  }
  Graph<double> g;
  auto a = g.constant(x, "x");
  for (int l = 1; l <= 10; ++l) {
    auto s = g.scope(fmt::format("layer{}", l));
    auto z = (matmul(transpose(g.param(w[l - 1])), a) + g.param(b[l - 1])).named("z");
    a = (l < 10 ? relu(z) : sigmoid(z)).named("a");
  }
  g.backward(bce(a, g.constant(y, "y")));
  for (int l = 1; l <= 8; ++l) {
    INFO("layer " << l);
    for (int k = 0; k < 2; ++k)
      CHECK(b[l - 1].grad()(k, 0) == Approx(0.8 * b[l].grad()(k, 0)).epsilon(1e-13));
    // dw is the same at every hidden layer (activations grow by 1/0.8 as dz shrinks by 0.8)
    CHECK(w[l - 1].grad().isApprox(w[l].grad(), 1e-12));
  }
  CHECK(b[8].grad()(0, 0) == Approx(b[9].grad()(0, 0)).epsilon(1e-13));  // layer 9 vs 10: w10 = 1
}
