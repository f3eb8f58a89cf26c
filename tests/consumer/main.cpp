// Includes a header from each installed directory and links what they declare, so a header or
// source missing from the package fails here.
#include <gradscope/autodiff/autodiff.hpp>
#include <gradscope/instruments/grad_stats.hpp>
#include <gradscope/models/models.hpp>
#include <gradscope/writers/graphviz.hpp>

#include <cstdio>

int main() {
  gradscope::Graph<double> g;
  auto x = g.variable(3.0, "x");
  g.backward(x * x);
  std::printf("d(x*x)/dx at 3 = %g\n", x.grad()(0, 0));
  const bool dot = gradscope::to_dot(g).find("digraph") != std::string::npos;
  std::printf("to_dot: %s\n", dot ? "a digraph" : "no digraph");
  return x.grad()(0, 0) == 6.0 && dot ? 0 : 1;
}
