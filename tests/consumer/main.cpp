#include <gradscope/autodiff/autodiff.hpp>

#include <cstdio>

int main() {
  gradscope::Graph<double> g;
  auto x = g.variable(3.0, "x");
  g.backward(x * x);
  std::printf("d(x*x)/dx at 3 = %g\n", x.grad()(0, 0));
  return x.grad()(0, 0) == 6.0 ? 0 : 1;
}
