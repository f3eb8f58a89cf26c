// post_train, allocations_per_iteration and the long run's RSS: the post's training workload
// (post_workload.hpp) through gradscope against the same step hand-written (post_loops.hpp), in
// plain C++ (post_train's ratio) and in vector lanes (post_train_vs_vector's, and
// post_forward_vs_vector's for gradscope's forward pass alone), and the operations that
// hand-written step does (post_loop_ops, post_loop_exps: its physical limit, PERFORMANCE.md).
#include <cmath>

#include "benchmarks.hpp"
#include "post_loops.hpp"

namespace gradscope::bench {

namespace {

// Both implementations must have trained to the same weights, or the comparison is void.
void check_same_weights(const GradscopePostNet& net, const PostLoop& loop) {
  for (int l = 0; l < kPostLayers; ++l) {
    const auto& w = net.params()[2 * l].value();
    for (int i = 0; i < w.rows(); ++i)
      for (int o = 0; o < w.cols(); ++o)
        if (std::abs(w(i, o) - loop.w(l, i, o)) > 1e-9 * (1 + std::abs(w(i, o))))
          fail("post_train: gradscope and the hand-written loop ({}) disagree on layer{}/w({},{}): "
               "{} vs {}",
               loop.what(), l + 1, i, o, w(i, o), loop.w(l, i, o));
  }
}

}  // namespace

std::vector<Figure> post_train(const Options& opt) {
  const PostData data;
  GradscopePostNet fused(data), unfused(data, false);
  PostLoop scalar(data, PostLoop::Lanes::Scalar), vector(data, PostLoop::Lanes::Vector);
  const std::string best = "best hand-written loop, " + scalar.what();
  Figure f{"post_train", "us/iter", best, {}, {}, Target{Target::Of::Ratio, Target::Is::AtMost, 0.7}};
  Figure v{"post_train_vs_vector", "us/iter", "hand-written loop, " + vector.what(), {}, {},
           Target{Target::Of::Ratio, Target::Is::AtMost, 1.5}};
  Figure u{"post_train_sigmoid_bce", "us/iter", best, {}, {}, {}};
  // The step's forward pass alone (recording runs each op) against the vector loop's whole step:
  // what is left for backward and the update under post_train_vs_vector's target.
  Figure fw{"post_forward_vs_vector", "us/iter", "hand-written loop's whole step, " + vector.what(),
            {}, {}, {}};
  for (int r = 0; r < opt.repeat; ++r) {
    const double base = micros_per_step(scalar);
    f.baselines.push_back(base);
    u.baselines.push_back(base);
    v.baselines.push_back(micros_per_step(vector));
    f.values.push_back(micros_per_step(fused));
    v.values.push_back(f.values.back());
    u.values.push_back(micros_per_step(unfused));
    fw.values.push_back(micros_per_call(kPostSteps, [&] { fused.record(); }));
    fw.baselines.push_back(v.baselines.back());
  }
  check_same_weights(fused, scalar);
  check_same_weights(fused, vector);
  check_same_weights(unfused, scalar);
  const PostLoop::Count count = PostLoop::count_one_step(data);
  return {f, v, u, fw, {"post_loop_ops", "ops/iter", "", {count.ops}, {}, {}},
          {"post_loop_exps", "exps/iter", "", {count.exps}, {}, {}}};
}

std::vector<Figure> allocations_per_iteration(const Options& opt) {
  const PostData data;
  GradscopePostNet net(data);
  PostLoop loop(data, PostLoop::Lanes::Scalar);
  Figure f{"allocations_per_iteration", "allocs/iter", "hand-written loop", {}, {},
           Target{Target::Of::Value, Target::Is::AtMost, 0}};
  for (int k = 0; k < 3; ++k) net.step();  // warm-up: arenas and interned names reach full size
  for (int r = 0; r < opt.repeat; ++r) {
    f.baselines.push_back(allocations_per_step(loop));
    f.values.push_back(allocations_per_step(net));
  }
  return {f};
}

std::vector<Figure> long_run(const Options& opt) {
  if (opt.long_iterations <= 0) return {};
  const PostData data;
  GradscopePostNet net(data);
  // RSS is read after the same warm-up as allocations_per_iteration's (arenas, interned names,
  // the allocator's first pages), then after long_iterations more steps.
  for (int k = 0; k < 3; ++k) net.step();
  const double start = double(resident_kib());
  const double us = seconds([&] {
                      for (long long k = 0; k < opt.long_iterations; ++k) net.step();
                    }) /
                    double(opt.long_iterations) * 1e6;
  const double end = double(resident_kib());
  const std::string n = std::to_string(opt.long_iterations);
  return {{"long_run_" + n + "_time", "us/iter", "", {us}, {}, {}},
          {"long_run_" + n + "_rss_start", "KiB", "", {start}, {}, {}},
          {"long_run_" + n + "_rss_end", "KiB", "", {end}, {}, {}},
          {"long_run_" + n + "_rss_growth", "KiB", "", {end - start}, {},
           Target{Target::Of::Value, Target::Is::AtMost, 0}}};
}

}  // namespace gradscope::bench
