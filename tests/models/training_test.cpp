// Losses, optimisers and the training loop.
#include <catch2/catch.hpp>
#include <gradscope/models/models.hpp>

using namespace gradscope;
using namespace gradscope::models;

TEST_CASE(
    "binary cross-entropy on a sigmoid output: d loss/dz = (σ(z) - y)/m, finite when saturated") {
  auto net = logistic_regression<double>(1, Init::constant(50));
  Graph<double> g;
  Matrix<double> x(1, 4), y(1, 4);
  x << 1, -1, 0.01, 2;
  y << 1, 0, 1, 0;
  const auto f = net.forward(g.constant(x, "x"));
  const auto loss = binary_cross_entropy(f.output(), g.constant(y, "y"));
  g.backward(loss);
  const Matrix<double> p = 1 / (1 + (-50 * x.array()).exp());
  CHECK(Matrix<double>(f.output().z.grad()).isApprox(Matrix<double>((p - y) / 4), 1e-14));
  CHECK(std::isfinite(loss.item()));  // z = 100 for the last sample: σ(z) rounds to 1
}

TEST_CASE("SGD, momentum and Adam take their documented steps, zero_grad clears") {
  Parameter<double> p(Matrix<double>::Constant(1, 1, 1.0), "p");
  auto set_grad = [&](double g) { p.grad()(0, 0) = g; };
  SECTION("sgd") {
    Sgd<double> o({&p}, 0.1);
    set_grad(2);
    o.step();
    CHECK(p.value()(0, 0) == Approx(0.8));
    o.zero_grad();
    CHECK(p.grad()(0, 0) == 0);
  }
  SECTION("momentum: v = 0.9 v + g") {
    Sgd<double> o({&p}, 0.1, 0.9);
    set_grad(1);
    o.step();  // v = 1
    o.step();  // v = 1.9
    CHECK(p.value()(0, 0) == Approx(1 - 0.1 - 0.19));
  }
  SECTION("adam: the first step is lr·sign(g) up to eps") {
    Adam<double> o({&p}, 0.01);
    set_grad(-3);
    o.step();
    CHECK(p.value()(0, 0) == Approx(1.01).epsilon(1e-9));
  }
  SECTION("bad settings") {
    CHECK_THROWS_WITH(Sgd<double>({&p}, std::nan("")), Catch::Contains("learning rate nan"));
    CHECK_THROWS_AS(Sgd<double>({&p}, -1), Error);
    CHECK_THROWS_AS(Sgd<double>({&p}, 0.1, 1.0), Error);
    CHECK_THROWS_WITH(make_optimizer<double>("rmsprop", {&p}, 0.1),
                      Catch::Contains("unknown optimizer"));
  }
}

TEST_CASE("training a logistic regression separates two distant clusters, the loss falls") {
  TwoGaussians spec;
  spec.per_class = 50;
  spec.mean1 = Eigen::Vector2d(20, 20);
  spec.seed = 4;
  const auto data = two_gaussians(spec);
  for (auto name : {"sgd", "momentum", "adam"}) {
    auto net = logistic_regression<double>(2);
    TrainOptions o;
    o.iterations = 10000;
    o.history_every = 500;
    o.optimizer = name;
    o.lr = 0.01;
    std::size_t callbacks = 0;
    o.on_record = [&](std::size_t, double) { ++callbacks; };
    const auto r = train(net, data, o);
    INFO(name);
    CHECK(r.accuracy == 1.0);
    CHECK(r.history.front().iteration == 0);
    CHECK(r.history.back().iteration == 10000);
    CHECK(r.history.size() == 21);
    CHECK(callbacks == r.history.size());
    CHECK(r.final_loss < 0.5 * r.history.front().loss);
  }
}

TEST_CASE("training rejects data that does not fit the network") {
  auto net = logistic_regression<double>(3);
  const auto data = two_gaussians({});
  CHECK_THROWS_WITH(train(net, data, {}),
                    Catch::Contains("data has 2 features, the network expects 3"));
}

TEST_CASE("training stops with an error naming the iteration where the loss stops being finite") {
  // Inputs of 1e200 and a step of 1e200 send the weights to infinity after the first update.
  auto net = logistic_regression<double>(2, Init::constant(0));
  Dataset data;
  data.x = Eigen::MatrixXd(2, 2);
  data.x << 1e200, -1e200, 1e200, 1e200;
  data.y = Eigen::MatrixXd(1, 2);
  data.y << 1, 0;
  TrainOptions o;
  o.iterations = 10;
  o.lr = 1e200;
  CHECK_THROWS_WITH(train(net, data, o),
                    Catch::Contains("train: the loss became") &&
                        Catch::Contains("at iteration 1 (it was 0.693147 at iteration 0)") &&
                        Catch::Contains("lower the learning rate or rescale the data"));
  data.x /= 1e200;  // rescaled and with a sane step, the same data trains without error
  o.lr = 0.1;
  net = logistic_regression<double>(2, Init::constant(0));
  CHECK(std::isfinite(train(net, data, o).final_loss));
}

TEST_CASE("the loss history stays bounded at history_every 1, evenly thinned") {
  TwoGaussians spec;
  spec.per_class = 5;
  const auto data = two_gaussians(spec);
  auto net = logistic_regression<double>(2);
  TrainOptions o;
  o.iterations = 1000;
  o.history_every = 1;
  o.max_history = 16;
  std::size_t callbacks = 0;
  o.on_record = [&](std::size_t, double) { ++callbacks; };
  const auto r = train(net, data, o);
  // Thinned at 16 points each time it filled: the interval doubled to 64, points 0, 64, ..., 960,
  // then the last iteration.
  REQUIRE(r.history.size() == 17);
  for (std::size_t k = 0; k + 1 < r.history.size(); ++k) CHECK(r.history[k].iteration == 64 * k);
  CHECK(r.history.back().iteration == 1000);
  CHECK(r.history.back().loss == r.final_loss);
  CHECK(callbacks > r.history.size());  // every point was reported once when recorded
  o.max_history = 1;
  CHECK_THROWS_WITH(train(net, data, o), "train: max_history must be at least 2");
}

TEST_CASE("the post's classifier (10 x 2 ReLU, w = 1.1·I) passes 99% on the post's data") {
  // The post trains 50,000 full-batch steps; 2,000 already reach 99% on this draw, which keeps the
  // test short. docs/post.md shows the full run.
  TwoGaussians spec;
  spec.per_class = 1000;
  spec.mean1 = Eigen::Vector2d(17, 10);
  const auto data = two_gaussians(spec);
  PostNetworkSpec s;
  s.hidden_init = Init::scaled_identity(1.1);
  auto net = post_network<double>(s);
  TrainOptions o;
  o.iterations = 2000;
  o.history_every = 1000;
  const auto r = train(net, data, o);
  CHECK(r.accuracy >= 0.99);
  CHECK(r.final_loss < r.history.front().loss);
  CHECK(std::isfinite(r.final_loss));
}
