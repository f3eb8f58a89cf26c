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
