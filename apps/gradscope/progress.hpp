#pragma once
// Progress of long work (train, report) on stderr. On a terminal: one line rewritten in place, a
// bar with the share done, the rate and the time left. Otherwise (a log file, CI): a plain line
// every few seconds, and one at the end, so a log shows the work moving without a line per step.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace gradscope::cli {

// Bytes as a Progress count of megabytes (reading a --data CSV): rounded to the nearest, the done
// and the total alike, so the line reads the total over the total exactly when all is read.
inline std::size_t megabytes(std::size_t bytes) { return (bytes + 500000) / 1000000; }

class Progress {
 public:
  // label names the work ("network"), total its steps, unit what a step is ("it", "steps"); a
  // total of 0 is unknown until the work ends (a stream read to its end): the line then shows
  // the steps done and the rate, without a share or the time left. Work that ends within
  // quiet_for prints nothing (reading a small file).
  Progress(std::string label, std::size_t total, std::string unit,
           std::chrono::steady_clock::duration quiet_for = {});
  // Ends a terminal line left open by work an error stopped, so the error gets a line of its own.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // done of total steps so far; detail is shown after the rate (e.g. "loss 0.693"). Safe to call
  // from several threads (a sweep's workers).
  void update(std::size_t done, const std::string& detail = "");
  // The last line (on a terminal, the bar at 100% and a newline).
  void finish(const std::string& detail = "");

 private:
  using Clock = std::chrono::steady_clock;
  std::string line(std::size_t done, const std::string& detail) const;

  std::string label_, unit_;
  std::size_t total_, done_ = 0;
  bool tty_;
  Clock::time_point start_, last_;
  Clock::duration quiet_for_;
  bool finished_ = false, line_open_ = false;
  std::mutex mutex_;
};

}  // namespace gradscope::cli
