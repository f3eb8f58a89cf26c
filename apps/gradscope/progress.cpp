#include "progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gradscope::cli {

namespace {
constexpr auto kTerminalEvery = std::chrono::milliseconds(100);  // redraws, at most
constexpr auto kPlainEvery = std::chrono::seconds(5);            // lines in a log
constexpr int kBar = 24;                                         // characters of the bar

std::string duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{}:{:02}", s / 60, s % 60);
}
}  // namespace

Progress::Progress(std::string label, std::size_t total, std::string unit,
                   Clock::duration quiet_for)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      tty_(::isatty(STDERR_FILENO)),
      start_(Clock::now()),
      last_(start_),
      quiet_for_(quiet_for) {}

Progress::~Progress() {
  if (line_open_) std::fputc('\n', stderr);
}

std::string Progress::line(std::size_t done, const std::string& detail) const {
  const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = seconds > 0 ? double(done) / seconds : 0;
  const std::string rate_text =
      rate >= 100 ? fmt::format("{:.0f}", rate) : fmt::format("{:.3g}", rate);
  std::string s = fmt::format("{:<20} ", label_);
  if (!total_) {
    s += fmt::format("{} {}, {} {}/s{}", done, unit_, rate_text, unit_,
                     finished_ ? ", done in " + duration(seconds) : std::string());
  } else {
    const double share = std::min(1.0, double(done) / double(total_));
    const std::string left =
        done >= total_ ? "done in " + duration(seconds)
                       : (rate > 0 ? duration(double(total_ - done) / rate) : std::string("?")) +
                             " left";
    if (tty_) {
      const int filled = int(share * kBar);
      s += fmt::format("[{}{}] ", std::string(std::size_t(filled), '#'),
                       std::string(std::size_t(kBar - filled), '.'));
    }
    s += fmt::format("{:3.0f}% {}/{} {}, {} {}/s, {}", 100 * share, done, total_, unit_,
                     rate_text, unit_, left);
  }
  if (!detail.empty()) s += ", " + detail;
  return s;
}

void Progress::update(std::size_t done, const std::string& detail) {
  const std::lock_guard<std::mutex> lock(mutex_);
  done_ = done;
  const auto now = Clock::now();
  if (now - start_ < quiet_for_ ||
      now - last_ < (tty_ ? std::chrono::duration_cast<Clock::duration>(kTerminalEvery)
                          : std::chrono::duration_cast<Clock::duration>(kPlainEvery)))
    return;
  last_ = now;
  // \x1b[K clears what a longer previous line left on the right.
  fmt::print(stderr, tty_ ? "\r{}\x1b[K" : "{}\n", line(done, detail));
  std::fflush(stderr);
  line_open_ = tty_;
}

void Progress::finish(const std::string& detail) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  line_open_ = false;
  if (Clock::now() - start_ < quiet_for_) return;
  fmt::print(stderr, tty_ ? "\r{}\x1b[K\n" : "{}\n", line(total_ ? total_ : done_, detail));
  std::fflush(stderr);
}

}  // namespace gradscope::cli
