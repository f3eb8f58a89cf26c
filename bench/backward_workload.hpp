#pragma once
// backward() of the seed's training step (seed_workload.hpp), timed one step at a time on a net of
// its own, so that several configurations can take their steps in turn: a drift in the machine's
// speed then reaches each alike.
#include <functional>

namespace gradscope::bench {

// Records the forward pass, times backward() with the clock it is given, applies the update, and
// returns the microseconds backward() took. Each holds its own net, warmed up by 3 steps.
using SeedBackward = std::function<double(double (*now)())>;

// Without observers.
SeedBackward plain_seed_backward();
// With a GradientMonitor attached (statistics at every node, diagnosis and history every pass;
// logging at warn level into a null sink). Not in the copy with hooks compiled out.
SeedBackward monitored_seed_backward();

}  // namespace gradscope::bench

// plain_seed_backward() again, built against a second copy of the engine compiled with
// GRADSCOPE_HOOKS=0 under this namespace (bench/CMakeLists.txt): hooks compiled out.
namespace gradscope_nohooks::bench {
std::function<double(double (*)())> plain_seed_backward();
}  // namespace gradscope_nohooks::bench
