// Activations, initialisers, dense layers and the MLP builder.
#include <catch2/catch.hpp>
#include <gradscope/models/models.hpp>

using namespace gradscope;
using namespace gradscope::models;

TEST_CASE("activations parse by name and reject unknown names") {
  for (auto name : {"identity", "relu", "leaky_relu", "sigmoid", "tanh"})
    CHECK(activation_name(parse_activation(name)) == name);
  CHECK_THROWS_WITH(parse_activation("softmax"), Catch::Contains("unknown activation 'softmax'"));
}

TEST_CASE("derivative() equals autodiff of the recorded activation") {
  Matrix<double> z(2, 3);
  z << -1.5, -0.2, 0.3, 0.7, 2.0, -3.0;
  for (auto act : {Activation::Identity, Activation::Relu, Activation::LeakyRelu,
                   Activation::Sigmoid, Activation::Tanh}) {
    Graph<double> g;
    auto zv = g.variable(z, "z");
    g.backward(sum(activate(act, zv)));
    CHECK(zv.grad().isApprox(derivative(act, z), 1e-14));
  }
}

TEST_CASE("initialisers: constant and scaled identity are exact, random ones repeat by seed") {
  Rng rng(1);
  CHECK(initialize<double>(Init::constant(0.5), 2, 3, 2, 3, rng) ==
        Matrix<double>::Constant(2, 3, 0.5));
  CHECK(initialize<double>(Init::scaled_identity(0.8), 2, 2, 2, 2, rng) ==
        0.8 * Matrix<double>::Identity(2, 2));
  for (auto init :
       {Init::uniform(-1, 1), Init::normal(0, 1), Init::xavier_uniform(), Init::xavier_normal(),
        Init::he_uniform(), Init::he_normal(), Init::orthogonal()}) {
    Rng a(42), b(42), c(43);
    const auto x = initialize<double>(init, 5, 4, 5, 4, a);
    CHECK(x == initialize<double>(init, 5, 4, 5, 4, b));
    CHECK(x != initialize<double>(init, 5, 4, 5, 4, c));
  }
}

TEST_CASE("initialisers: Xavier and He bounds and spreads") {
  Rng rng(3);
  const auto xu = initialize<double>(Init::xavier_uniform(), 100, 50, 100, 50, rng);
  CHECK(xu.cwiseAbs().maxCoeff() <= std::sqrt(6.0 / 150));
  CHECK(xu.cwiseAbs().maxCoeff() > 0.9 * std::sqrt(6.0 / 150));
  const auto hn = initialize<double>(Init::he_normal(), 400, 100, 400, 100, rng);
  const double sd = std::sqrt(hn.array().square().mean());
  CHECK(sd == Approx(std::sqrt(2.0 / 400)).epsilon(0.03));
}

TEST_CASE("orthogonal initialiser has orthonormal columns (tall) or rows (wide)") {
  Rng rng(5);
  const auto tall = initialize<double>(Init::orthogonal(), 6, 3, 6, 3, rng);
  CHECK((tall.transpose() * tall).isApprox(Matrix<double>::Identity(3, 3), 1e-12));
  const auto wide = initialize<double>(Init::orthogonal(2.0), 3, 6, 3, 6, rng);
  CHECK((wide * wide.transpose()).isApprox(4 * Matrix<double>::Identity(3, 3), 1e-12));
}

TEST_CASE("initialisers reject bad parameters and names") {
  Rng rng(0);
  CHECK_THROWS_AS(initialize<double>(Init::uniform(1, -1), 2, 2, 2, 2, rng), Error);
  CHECK_THROWS_AS(initialize<double>(Init::normal(0, -1), 2, 2, 2, 2, rng), Error);
  CHECK_THROWS_AS(initialize<double>(Init::constant(std::nan("")), 2, 2, 2, 2, rng), Error);
  CHECK_THROWS_WITH(parse_init("glorotz"), Catch::Contains("unknown initialiser 'glorotz'"));
  CHECK(parse_init("he").kind == Init::Kind::HeNormal);
}

TEST_CASE("the MLP records layer l in scope layer<l> with nodes w, b, z, a") {
  auto net = post_network<double>({});
  Graph<double> g;
  Matrix<double> x(2, 3);
  x << 1, 2, 3, 4, 5, 6;
  const auto f = net.forward(g.constant(x, "x"));
  REQUIRE(f.layers.size() == 10);
  for (std::size_t l = 1; l <= 10; ++l) {
    const auto& o = f.layers[l - 1];
    const auto p = fmt::format("layer{}/", l);
    CHECK(o.w.name() == p + "w");
    CHECK(o.b.name() == p + "b");
    CHECK(o.z.name() == p + "z");
    CHECK(o.a.name() == p + "a");
  }
  CHECK(f.layers[0].w.shape() == Shape{2, 2});
  CHECK(f.output().w.shape() == Shape{2, 1});
  CHECK(Matrix<double>(net.layer(10).w().value()) == Matrix<double>::Ones(2, 1));
  CHECK(Matrix<double>(net.layer(3).w().value()) == 0.8 * Matrix<double>::Identity(2, 2));
}

TEST_CASE("both orientations compute the same layer: z = wᵀa + b and z = Wa + b with W = wᵀ") {
  Rng rng(9);
  Dense<double> post("layer1", 3, 2, Activation::Tanh, Orientation::InOut, Init::normal(0, 1),
                     Init::normal(0, 1), rng);
  Dense<double> common("layer1", 3, 2, Activation::Tanh, Orientation::OutIn, Init::constant(0),
                       Init::constant(0), rng);
  REQUIRE(post.w().shape() == Shape{3, 2});
  REQUIRE(common.w().shape() == Shape{2, 3});
  common.w().value() = post.w().value().transpose();
  common.b().value() = post.b().value();
  Graph<double> g;
  const auto x = g.constant(Matrix<double>::Random(3, 4), "x");
  const auto a1 = post.forward(x), a2 = common.forward(x);
  CHECK(Matrix<double>(a1.a.value()).isApprox(Matrix<double>(a2.a.value()), 1e-15));
  g.backward(sum(a1.a) + sum(a2.a));
  CHECK(Matrix<double>(post.w().grad().transpose()).isApprox(common.w().grad(), 1e-14));
}

TEST_CASE("layers and networks reject nonsense shapes with clear errors") {
  CHECK_THROWS_WITH(MlpBuilder(2).dense(0, Activation::Relu).build<double>(),
                    Catch::Contains("layer 1 has width 0"));
  CHECK_THROWS_WITH(MlpBuilder(2).build<double>(), Catch::Contains("no layers"));
  PostNetworkSpec s;
  s.depth = 0;
  CHECK_THROWS_WITH(post_network<double>(s), Catch::Contains("depth 0"));
  auto net = post_network<double>({});
  Graph<double> g;
  CHECK_THROWS_WITH(net.forward(g.constant(Matrix<double>::Ones(3, 4), "x")),
                    Catch::Contains("layer 'layer1': input 'x' is 3x4, expected 2 rows"));
}

TEST_CASE("float networks record and differentiate too") {
  auto net = MlpBuilder(2)
                 .dense(4, Activation::Relu, Init::he_normal())
                 .dense(1, Activation::Sigmoid)
                 .seed(3)
                 .build<float>();
  Graph<float> g;
  const auto f = net.forward(g.constant(Matrix<float>::Ones(2, 5), "x"));
  const auto loss = binary_cross_entropy(f.output(), g.constant(Matrix<float>::Ones(1, 5), "y"));
  g.backward(loss);
  CHECK(net.layer(1).w().grad().allFinite());
  CHECK(loss.name() == "loss");
}
