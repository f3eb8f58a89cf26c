#pragma once
// Gradient clipping, the usual remedy for exploding gradients (PyTorch's clip_grad_norm_ and
// clip_grad_value_), on Parameter gradients after backward, and as a hook on one node.
//
// Each function takes any range of Parameter<T> or of Parameter<T>* and returns the global L2 norm
// of the gradients *before* clipping (what to log or plot). A non-finite norm is returned and the
// gradients are left as they are: scaling by it would only spread the NaN; skip the step instead.
#include <cmath>
#include <type_traits>

#include "gradscope/instruments/grad_stats.hpp"
#include "gradscope/autodiff/graph.hpp"

namespace gradscope {

namespace detail {
template <class T>
Parameter<T>& deref(Parameter<T>& p) { return p; }
template <class T>
Parameter<T>& deref(Parameter<T>* p) { return *p; }

template <class Range>
double global_grad_norm(Range& params) {
  double norm = 0;
  for (auto& p : params) norm = combine_norms(norm, l2_norm(deref(p).grad()));
  return norm;
}
}  // namespace detail

// Scales all gradients by max_norm / norm when their global L2 norm exceeds max_norm (> 0).
template <class Range>
double clip_grad_norm(Range&& params, double max_norm) {
  if (!(max_norm > 0)) fail("clip_grad_norm: max_norm must be > 0, got {}", max_norm);
  const double norm = detail::global_grad_norm(params);
  if (std::isfinite(norm) && norm > max_norm)
    for (auto& p : params) {
      auto& g = detail::deref(p).grad();
      g *= static_cast<typename std::decay_t<decltype(g)>::Scalar>(max_norm / norm);
    }
  return norm;
}

// Clamps every gradient entry into [-limit, limit] (limit > 0).
template <class Range>
double clip_grad_value(Range&& params, double limit) {
  if (!(limit > 0)) fail("clip_grad_value: limit must be > 0, got {}", limit);
  const double norm = detail::global_grad_norm(params);
  if (std::isfinite(norm))
    for (auto& p : params) {
      auto& g = detail::deref(p).grad();
      using S = typename std::decay_t<decltype(g)>::Scalar;
      g = g.cwiseMax(S(-limit)).cwiseMin(S(limit));
    }
  return norm;
}

// How clipping went over training: feed it each norm a clipping function returned.
//   ClipLog log{1.0};  ...  log.record(clip_grad_norm(params, log.max_norm));
struct ClipLog {
  double max_norm = 1;
  long passes = 0, fired = 0;  // steps clipped, and of them those whose norm exceeded max_norm
  double last_norm = 0, largest_norm = 0;  // before clipping
  void record(double norm) {
    ++passes;
    fired += norm > max_norm;
    last_norm = norm;
    if (!(norm <= largest_norm)) largest_norm = norm;  // NaN sticks: it is what to see
  }
  double fired_share() const { return passes ? double(fired) / double(passes) : 0; }
};

// A hook for Graph::register_hook that rescales one node's gradient to L2 norm <= max_norm before
// it flows on to the node's inputs:  g.register_hook(z, clip_norm_hook<double>(1.0));
template <class T>
typename Graph<T>::Hook clip_norm_hook(double max_norm) {
  if (!(max_norm > 0)) fail("clip_norm_hook: max_norm must be > 0, got {}", max_norm);
  return [max_norm](MatrixMap<T> grad) {
    const double norm = l2_norm(grad);
    if (std::isfinite(norm) && norm > max_norm) grad *= T(max_norm / norm);
  };
}

}  // namespace gradscope
