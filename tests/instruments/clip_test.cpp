// Gradient clipping utilities and the clipping hook.
#include <gradscope/autodiff/autodiff.hpp>
#include <gradscope/instruments/clip.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <vector>

using namespace gradscope;

namespace {

std::vector<Parameter<double>> two_params() {
  std::vector<Parameter<double>> p;
  p.emplace_back(Matrix<double>::Zero(1, 2), "a");
  p.emplace_back(Matrix<double>::Zero(2, 1), "b");
  p[0].grad() << 3, 0;
  p[1].grad() << 0, -4;  // global norm 5
  return p;
}

}  // namespace

TEST_CASE("clip_grad_norm scales all gradients to the global norm and returns the norm before",
          "[clip]") {
  auto p = two_params();
  CHECK(clip_grad_norm(p, 1.0) == 5.0);
  CHECK(p[0].grad()(0, 0) == Approx(0.6));
  CHECK(p[1].grad()(1, 0) == Approx(-0.8));
  // Below the limit nothing changes; a range of pointers works as well.
  std::vector<Parameter<double>*> ptrs{&p[0], &p[1]};
  CHECK(clip_grad_norm(ptrs, 2.0) == Approx(1.0));
  CHECK(p[0].grad()(0, 0) == Approx(0.6));
}

TEST_CASE("clip_grad_norm clips gradients whose squares overflow, and measures tiny ones",
          "[clip]") {
  for (double scale : {1e200, 1e-200}) {
    INFO("scale " << scale);
    auto p = two_params();
    p[0].grad() *= scale;
    p[1].grad() *= scale;
    CHECK(clip_grad_norm(p, 1.0) == Approx(5 * scale).epsilon(1e-15));
    CHECK(p[0].grad()(0, 0) == Approx(scale > 1 ? 0.6 : 3 * scale).epsilon(1e-15));
    CHECK(p[1].grad()(1, 0) == Approx(scale > 1 ? -0.8 : -4 * scale).epsilon(1e-15));
  }
}

TEST_CASE("clip_grad_value clamps each entry and returns the norm before", "[clip]") {
  auto p = two_params();
  CHECK(clip_grad_value(p, 3.5) == 5.0);
  CHECK(p[0].grad()(0, 0) == 3.0);
  CHECK(p[1].grad()(1, 0) == -3.5);
}

TEST_CASE("clipping leaves non-finite gradients alone and rejects bad limits", "[clip][errors]") {
  auto p = two_params();
  p[0].grad()(0, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK(std::isnan(clip_grad_norm(p, 1.0)));
  CHECK(p[1].grad()(1, 0) == -4.0);
  CHECK_THROWS_WITH(clip_grad_norm(p, 0.0), Catch::Contains("max_norm must be > 0"));
  CHECK_THROWS_WITH(clip_grad_value(p, -1.0), Catch::Contains("limit must be > 0"));
  CHECK_THROWS_WITH(clip_norm_hook<double>(0.0), Catch::Contains("max_norm must be > 0"));
}

#if GRADSCOPE_HOOKS
TEST_CASE("clip_norm_hook bounds one node's gradient before it flows to the inputs", "[clip]") {
  Graph<double> g;
  Parameter<double> w(Matrix<double>::Ones(2, 1), "w");
  auto wn = g.param(w);
  auto z = (wn * 10.0).named("z");
  g.register_hook(z, clip_norm_hook<double>(1.0));
  Matrix<double> root_grad(2, 1);
  root_grad << 30, 40;  // norm 50, clipped to 1: [0.6, 0.8]
  g.backward(z, root_grad);
  CHECK(z.grad()(0, 0) == Approx(0.6));
  CHECK(z.grad()(1, 0) == Approx(0.8));
  CHECK(w.grad()(0, 0) == Approx(6.0));  // 10 · 0.6
  CHECK(w.grad()(1, 0) == Approx(8.0));
}
#endif
