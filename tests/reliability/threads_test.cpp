// The threading model: one graph per thread; parameters shared between threads are read-only
// (recorded under no_grad, so no backward writes their grad()). Several threads train their own
// small networks at once on shared data and must agree exactly with a single-threaded run. Built
// with ThreadSanitizer by the tsan CI job, where any data race fails the test.
#include <catch2/catch.hpp>
#include <gradscope/autodiff/autodiff.hpp>
#include <gradscope/ops/product.hpp>
#include <algorithm>
#include <thread>
#include <vector>

using namespace gradscope;

namespace {

struct Shared {
  Matrix<double> x, y;  // data: 2 x 40 features, 1 x 40 labels
  Parameter<double> rotate{Matrix<double>::Identity(2, 2),
                           "rotate"};  // frozen, read by every thread
};

Shared make_shared_data() {
  Shared s;
  s.x.resize(2, 40);
  s.y.resize(1, 40);
  for (int j = 0; j < 40; ++j) {
    const bool positive = j % 2;
    s.x(0, j) = (positive ? 2.0 : -2.0) + 0.05 * ((j * 7) % 11 - 5);
    s.x(1, j) = (positive ? 1.0 : -1.0) + 0.05 * ((j * 5) % 13 - 6);
    s.y(0, j) = positive;
  }
  s.rotate.value() << 0.8, -0.6, 0.6, 0.8;
  return s;
}

// Counts nodes per backward: per-graph observer state must not be shared between threads.
struct Counter : Observer<double> {
  std::size_t nodes = 0;
  void on_node(const NodeView<double>&) override { ++nodes; }
};

struct Result {
  double loss = 0;
  Matrix<double> w1, w2;
  std::size_t observed = 0;
};

// 2-4-1 tanh/sigmoid classifier, full-batch gradient descent; `variant` perturbs the start so that
// threads do different work.
Result train(Shared& data, int variant, int iterations) {
  Parameter<double> w1(Matrix<double>::Constant(2, 4, 0.1 + 0.01 * variant), "w");
  Parameter<double> b1(Matrix<double>::Zero(4, 1), "b");
  Parameter<double> w2(Matrix<double>::Constant(4, 1, -0.1), "w");
  Parameter<double> b2(Matrix<double>::Zero(1, 1), "b");
  Parameter<double>* params[] = {&w1, &b1, &w2, &b2};
  Graph<double> g;
  g.set_anomaly_detection(true);
  Counter counter;
  g.add_observer(counter);
  Result r;
  for (int it = 0; it < iterations; ++it) {
    g.clear();
    Var<double> x;
    {
      auto frozen = g.no_grad();  // shared parameter: read, never written
      x = matmul(g.param(data.rotate), g.constant(data.x, "x"));
    }
    Var<double> a;
    {
      auto s = g.scope("layer1");
      a = tanh(matmul(transpose(g.param(w1)), x) + g.param(b1)).named("a");
    }
    Var<double> out;
    {
      auto s = g.scope("layer2");
      out = (matmul(transpose(g.param(w2)), a) + g.param(b2)).named("z");
    }
    auto loss = bce_with_logits(out, g.constant(data.y, "y"));
    g.backward(loss);
    for (auto* p : params) {
      p->value() -= 0.5 * p->grad();
      p->zero_grad();
    }
    r.loss = loss.item();
  }
  r.w1 = w1.value();
  r.w2 = w2.value();
  r.observed = counter.nodes;
  return r;
}

}  // namespace

TEST_CASE("threads: independent graphs on several threads agree with a single-threaded run",
          "[reliability][threads]") {
  Shared data = make_shared_data();
  constexpr int kThreads = 4, kIterations = 300;
  std::vector<Result> reference;
  for (int t = 0; t < kThreads; ++t) reference.push_back(train(data, t, kIterations));

  std::vector<Result> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { results[t] = train(data, t, kIterations); });
  for (auto& th : threads) th.join();

  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    CHECK(results[t].loss == reference[t].loss);
    CHECK(results[t].w1 == reference[t].w1);
    CHECK(results[t].w2 == reference[t].w2);
    CHECK(results[t].observed == reference[t].observed);
    CHECK(results[t].loss < 0.05);  // the data are separable: training really ran
  }
  CHECK(data.rotate.grad().isZero());  // the shared parameter was never written
}

// A product large enough that OpenBLAS (GRADSCOPE_BLAS) or Eigen (GRADSCOPE_OPENMP) splits it
// across threads (with neither, or on one core, both runs below take one thread). Threads change
// only the order in which a product's partial sums are added.
TEST_CASE("threads: a large product's gradients on all threads match one thread's",
          "[reliability][threads]") {
  const Matrix<double> w0 = Matrix<double>::Random(300, 400), x0 = Matrix<double>::Random(400, 300);
  const int before = ops::product_threads();
  auto gradients = [&](int threads) {
    ops::set_product_threads(threads);
    Parameter<double> w(w0, "w"), x(x0, "x");
    Graph<double> g;
    g.backward(sum(tanh(matmul(g.param(w), g.param(x)) * 0.1)));
    ops::set_product_threads(before);
    return std::pair{w.grad(), x.grad()};
  };
  const int all = int(std::max(1u, std::thread::hardware_concurrency()));
  const auto [w1, x1] = gradients(1);
  const auto [wn, xn] = gradients(all);
  INFO("threads: " << all);
  CHECK(w1.norm() > 1);
  CHECK((wn - w1).norm() <= 1e-12 * w1.norm());
  CHECK((xn - x1).norm() <= 1e-12 * x1.norm());
}
