#pragma once
// backward() of the post's training step (post_workload.hpp), timed one step at a time on a net of
// its own, so that several configurations can be timed in one process.
#include <functional>

namespace gradscope::bench {

// Records the forward pass, times backward() with the clock it is given, applies the update, and
// returns the microseconds backward() took. Each holds its own net, warmed up by 3 steps.
using PostBackward = std::function<double(double (*now)())>;

// Without observers.
PostBackward plain_post_backward();
// With a GradientMonitor attached (statistics at every node, diagnosis and history every pass;
// logging at warn level into a null sink). Not in the copy with hooks compiled out.
PostBackward monitored_post_backward();

}  // namespace gradscope::bench

// plain_post_backward() again, built against a second copy of the engine compiled with
// GRADSCOPE_HOOKS=0 under this namespace (bench/CMakeLists.txt): hooks compiled out.
namespace gradscope_nohooks::bench {
std::function<double(double (*)())> plain_post_backward();
}  // namespace gradscope_nohooks::bench
