// Anomaly mode: the first non-finite value (forward) or gradient (backward) stops the pass with an
// Error naming the node, its op, shape, the ranges of its inputs and the line of this file that
// created it.
#include <catch2/catch.hpp>
#include <cmath>
#include <gradscope/autodiff/autodiff.hpp>
#include <limits>

using namespace gradscope;
using Catch::Matchers::Contains;

namespace {

// "this file:line", as the engine reports a recording site.
std::string here(unsigned line) { return fmt::format("{}:{}", __FILE__, line); }

// The post's deep narrow net, layer l in scope "layer<l>", with one layer scaled so that its
// pre-activation is huge and exp() of it overflows. Returns the output; `exp_line` receives the
// line that records the exp.
template <class T>
Var<T> overflowing_net(Graph<T>& g, std::vector<Parameter<T>>& w, unsigned& exp_line) {
  Matrix<T> x(2, 4);
  x << 2, 7, 3, 1, 3, 6, 2, 5;
  Var<T> a = g.constant(x, "x");
  for (int l = 1; l <= 3; ++l) {
    auto s = g.scope(fmt::format("layer{}", l));
    Var<T> z = matmul(transpose(g.param(w[l - 1])), a).named("z");
    exp_line = __LINE__ + 1;
    a = exp(z).named("a");
  }
  return a;
}

template <class T>
std::vector<Parameter<T>> overflowing_weights(T big) {
  std::vector<Parameter<T>> w;
  w.emplace_back(Matrix<T>::Identity(2, 2) * T(0.1), "w");
  w.emplace_back(Matrix<T>::Identity(2, 2) * big, "w");  // layer 2: z of order 100 * big
  w.emplace_back(Matrix<T>::Identity(2, 2), "w");
  return w;
}

}  // namespace

TEST_CASE("anomaly: exp of a huge pre-activation names the node, op, shape, inputs and line",
          "[reliability][anomaly]") {
  Graph<double> g;
  g.set_anomaly_detection(true);
  auto w = overflowing_weights(1000.0);
  unsigned line = 0;
  try {
    overflowing_net(g, w, line);
    FAIL("no anomaly reported");
  } catch (const Error& e) {
    const std::string m = e.what();
    INFO(m);
    // Layer 1 is finite; the first overflow is layer 2's exp, recorded as node 'layer2/exp#N'
    // because named("a") had not run yet; its input is the named pre-activation 'layer2/z'.
    CHECK_THAT(m, Contains("anomaly: value of 'layer2/exp#"));
    CHECK_THAT(m, Contains("(exp 2x4, created at " + here(line) + ")"));
    CHECK_THAT(m, Contains("0 NaN, 8 inf of 8 elements, first at (0,0)"));
    CHECK_THAT(m, Contains("input 'layer2/z' 2x4 in ["));
    // Layer 1's output lies in [e^0.1, e^0.7], so layer 2's z = 1000 * that.
    CHECK_THAT(m, Contains("in [1105.17, 2013.75]"));
  }
}

TEST_CASE("anomaly: float overflows at a smaller pre-activation and is reported the same way",
          "[reliability][anomaly]") {
  Graph<float> g;
  g.set_anomaly_detection(true);
  auto w = overflowing_weights(100.0f);  // z about 110 to 201; exp overflows float above 88.7
  unsigned line = 0;
  CHECK_THROWS_WITH(overflowing_net(g, w, line),
                    Contains("value of 'layer2/exp#") && Contains(here(line)));
}

TEST_CASE("anomaly mode off: the same overflow passes silently and records no locations",
          "[reliability][anomaly]") {
  Graph<double> g;
  auto w = overflowing_weights(1000.0);
  unsigned line = 0;
  Var<double> out = overflowing_net(g, w, line);
  CHECK(!out.value().allFinite());
  CHECK(g.node(out).location().file == nullptr);
}

TEST_CASE("anomaly: backward overflow names the op whose backward made it and both lines",
          "[reliability][anomaly]") {
  Graph<double> g;
  g.set_anomaly_detection(true);
  const unsigned x_line = __LINE__ + 1;
  auto x = g.variable(1e-200, "x");
  const unsigned y_line = __LINE__ + 1;
  auto y = g.constant(1.0, "one") / x;  // 1e200: finite; d/dx = -1/x² = -1e400: not
  CHECK(std::isfinite(y.item()));
  CHECK_THROWS_WITH(
      g.backward(y),
      Contains("anomaly: backward of 'div#2' (div 1x1, created at " + here(y_line) + ")") &&
          Contains("gradient of input 1 'x' (variable 1x1, created at " + here(x_line) + ")") &&
          Contains("0 NaN, 1 inf of 1 elements") && Contains("incoming gradient in [1, 1]") &&
          Contains("input 'x' 1x1 in [1e-200, 1e-200]"));
}

TEST_CASE("anomaly: sqrt at 0 is finite forward and infinite backward", "[reliability][anomaly]") {
  Graph<double> g;
  g.set_anomaly_detection(true);
  auto x = g.variable(Matrix<double>::Zero(1, 3), "x");
  const unsigned line = __LINE__ + 1;
  auto loss = sum(sqrt(x));
  CHECK(loss.item() == 0.0);
  CHECK_THROWS_WITH(g.backward(loss),
                    Contains("backward of 'sqrt#1' (sqrt 1x3, created at " + here(line)) &&
                        Contains("0 NaN, 3 inf of 3 elements"));
}

TEST_CASE("anomaly: operators report the user's line, not the library's",
          "[reliability][anomaly]") {
  Graph<double> g;
  g.set_anomaly_detection(true);
  auto x = g.variable(1e200, "x");
  const unsigned line = __LINE__ + 1;
  CHECK_THROWS_WITH(x * x, Contains("(mul 1x1, created at " + here(line) + ")"));
  const unsigned line2 = __LINE__ + 1;
  CHECK_THROWS_WITH(x * 1e200, Contains("(scale 1x1, created at " + here(line2) + ")"));
  const unsigned line3 = __LINE__ + 1;
  CHECK_THROWS_WITH(-1e308 - x * 1e108, Contains("(sub 1x1, created at " + here(line3) + ")"));
}

TEST_CASE("anomaly: domain errors name the op and the offending input range",
          "[reliability][anomaly]") {
  Graph<double> g;
  g.set_anomaly_detection(true);
  Matrix<double> m(1, 3);
  m << 1, -2, 4;
  auto x = g.constant(m, "x");
  auto zero = g.constant(0.0, "zero");
  CHECK_THROWS_WITH(log(x), Contains("value of 'log#") &&
                                Contains("1 NaN, 0 inf of 3 elements, first at (0,1)") &&
                                Contains("input 'x' 1x3 in [-2, 4]"));
  CHECK_THROWS_WITH(log(zero), Contains("(log 1x1") && Contains("0 NaN, 1 inf"));
  CHECK_THROWS_WITH(sqrt(x), Contains("(sqrt 1x3") && Contains("first at (0,1)"));
  CHECK_THROWS_WITH(x / zero, Contains("(div 1x3") && Contains("input 'zero' 1x1 in [0, 0]"));
  CHECK_THROWS_WITH(pow(x, 0.5), Contains("(pow 1x3") && Contains("1 NaN"));
  // bce outside its domain is refused while recording, anomaly mode or not (validation_test).
  auto p = g.constant(1.5, "p");
  CHECK_THROWS_WITH(bce(p, g.constant(1.0, "y")),
                    Contains("bce at ") && Contains("input 0 'p' (1x1) holds values in [1.5, 1.5]"));
}

TEST_CASE("anomaly: non-finite leaves and parameters are reported where they enter the graph",
          "[reliability][anomaly]") {
  Graph<double> g;
  g.set_anomaly_detection(true);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const unsigned line = __LINE__ + 1;
  CHECK_THROWS_WITH(g.constant(nan, "data"),
                    Contains("value of 'data' (constant 1x1, created at " + here(line)));
  Parameter<double> w(Matrix<double>::Constant(2, 2, nan), "w");
  auto s = g.scope("layer4");
  CHECK_THROWS_WITH(g.param(w), Contains("value of 'layer4/w' (param 2x2") &&
                                    Contains("4 NaN, 0 inf of 4 elements"));
}

#if GRADSCOPE_HOOKS
TEST_CASE("anomaly: a hook that writes NaN is named", "[reliability][anomaly]") {
  Graph<double> g;
  g.set_anomaly_detection(true);
  auto x = g.variable(2.0, "x");
  auto y = (x * x).named("y");
  g.register_hook(y, [](MatrixMap<double> grad) { grad.setConstant(std::nan("")); });
  CHECK_THROWS_WITH(g.backward(y), Contains("a hook left the gradient of 'y' (mul 1x1"));
}
#endif

TEST_CASE("a non-finite root gradient is refused, anomaly mode or not", "[reliability][anomaly]") {
  Graph<double> g;
  auto x = g.variable(Matrix<double>::Ones(2, 1), "x");
  auto y = (x * x).named("y");
  Matrix<double> root_grad(2, 1);
  root_grad << 1, std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(g.backward(y, root_grad),
                    Contains("root gradient for root 'y' is not finite") &&
                        Contains("0 NaN, 1 inf of 2 elements, first at (1,0)"));
}

TEST_CASE("anomaly mode changes no value or gradient", "[reliability][anomaly]") {
  auto run = [](bool anomaly) {
    Graph<double> g;
    g.set_anomaly_detection(anomaly);
    Parameter<double> w(Matrix<double>::Identity(2, 2) * 0.8, "w");
    Matrix<double> x(2, 3);
    x << 1, -2, 3, 4, 5, -6;
    auto a = tanh(matmul(g.param(w), g.constant(x)));
    auto loss = mean(sigmoid(a) * a + softplus(a));
    g.backward(loss);
    return std::pair<double, Matrix<double>>(loss.item(), w.grad());
  };
  const auto off = run(false), on = run(true);
  CHECK(off.first == on.first);
  CHECK(off.second == on.second);
}
