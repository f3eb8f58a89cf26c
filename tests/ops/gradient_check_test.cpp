// Every op in the op table against central finite differences, one test case per op.
#include "ops/gradient_check.hpp"

#include <catch2/catch.hpp>

using namespace gradscope;
using gradscope::testing::check_gradients;
using gradscope::testing::plan;

#define GRADSCOPE_GRADCHECK(Name, str)                                                    \
  TEST_CASE("gradient check: " str, "[ops][gradcheck]") {                                 \
    const auto results = check_gradients<ops::Name>(Op::Name);                            \
    REQUIRE(!results.empty());                                                            \
    for (const auto& r : results) {                                                       \
      INFO(r.case_name << " input " << r.input << " element " << r.element                \
                       << ": autodiff " << r.autodiff << ", finite difference " << r.numeric); \
      CHECK(r.ok);                                                                        \
    }                                                                                     \
  }
GRADSCOPE_OPS(GRADSCOPE_GRADCHECK)
#undef GRADSCOPE_GRADCHECK

// Every op of the table has test data the checker can run, and every broadcasting op is checked
// with broadcast operands. Fails when an op is added with no usable test shapes.
TEST_CASE("gradient check covers every op in the table", "[ops][coverage]") {
  constexpr int first = int(Op::Param) + 1;
  constexpr int count = int(std::size(kOpInfo));
  int covered = 0;
  for (int i = first; i < count; ++i) {
    const Op op = Op(i);
    testing::OpCases c;
    switch (op) {
#define GRADSCOPE_PLAN(Name, str) \
  case Op::Name:                  \
    c = plan<ops::Name>(op);      \
    break;
      GRADSCOPE_OPS(GRADSCOPE_PLAN)
#undef GRADSCOPE_PLAN
      default:
        break;
    }
    INFO("op " << op_info(op).name);
    CHECK(c.planned >= 3);
    if (op_info(op).arity == 2 && std::string_view(op_info(op).rule).find("broadcast") != std::string_view::npos)
      CHECK(c.broadcast >= 4);
    covered += c.planned > 0;
  }
  CHECK(covered == count - first);
}

// An op that declares passes_gradient gives every input of the output's shape exactly the output's
// gradient or its negation (observers reuse statistics on that promise: NodeView::grad_source).
TEST_CASE("ops that pass their gradient on pass it exactly, up to sign", "[ops][passes]") {
  int checked = 0;
  auto check = [&](auto kernel, Op op) {
    using K = decltype(kernel);
    if (!op_info(op).passes_gradient) return;
    std::mt19937 rng(11);
    for (double attr : K::test_attrs)
      for (const auto& s : K::test_shapes) {
        const Shape out = K::shape(s.a, s.b, attr);
        if (out.size() == 0) continue;
        Graph<double> g;
        const int arity = op_info(op).arity;
        std::vector<Var<double>> in;
        for (int k = 0; k < arity; ++k) {
          const Shape sk = k == 0 ? s.a : s.b;
          Matrix<double> v(sk.rows, sk.cols);
          for (Eigen::Index j = 0; j < v.size(); ++j) v(j) = testing::sample(rng, K::domain[k]);
          in.push_back(g.variable(v));
        }
        const Var<double> y = arity == 1 ? g.apply(op, {in[0]}, attr) : g.apply(op, {in[0], in[1]}, attr);
        Matrix<double> seed(out.rows, out.cols);
        for (Eigen::Index j = 0; j < seed.size(); ++j) seed(j) = testing::sample(rng, {-1, 1, 0.1});
        g.backward(y, seed);
        for (int k = 0; k < arity; ++k) {
          if (in[k].shape() != out) continue;
          INFO(fmt::format("{} a={} b={} input {}", op_info(op).name, s.a, s.b, k));
          const Matrix<double> gk = in[k].grad();
          CHECK((gk == seed || gk == -seed));
          ++checked;
        }
      }
  };
  for (int i = int(Op::Param) + 1; i < int(std::size(kOpInfo)); ++i) {
    switch (Op(i)) {
#define GRADSCOPE_PASSES(Name, str) \
  case Op::Name:                    \
    check(ops::Name{}, Op::Name);   \
    break;
      GRADSCOPE_OPS(GRADSCOPE_PASSES)
#undef GRADSCOPE_PASSES
      default:
        break;
    }
  }
  CHECK(checked >= 10);  // add, sub and neg at their same-shape test cases
}
