#pragma once
// CPU microseconds per backward() of the seed's training step (seed_workload.hpp), averaged over
// `steps` training steps after a warm-up; only backward() is timed, with the clock `now`.
namespace gradscope::bench {
double seed_backward_micros(int steps, double (*now)());
// The same with a GradientMonitor attached (statistics at every node, diagnosis and history every
// pass, predicted gains every predict_every-th pass; logging at warn level into a null sink, so
// no per-backward info line is formatted).
double seed_backward_micros_monitored(int steps, double (*now)(), unsigned predict_every);
}  // namespace gradscope::bench

// The first function again, built against a second copy of the engine compiled with
// GRADSCOPE_HOOKS=0 under this namespace (bench/CMakeLists.txt): hooks compiled out.
namespace gradscope_nohooks::bench {
double seed_backward_micros(int steps, double (*now)());
}  // namespace gradscope_nohooks::bench
