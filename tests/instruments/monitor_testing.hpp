#pragma once
// What the monitor's tests share: a logger whose lines a test reads back, options for a monitor
// that logs nothing, and a file name in the temporary directory.
#include <gradscope/instruments/monitor.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

namespace gradscope::testing {

struct CapturedLog {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> logger;
  explicit CapturedLog(spdlog::level::level_enum level) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(text);
    sink->set_pattern("[%l] %v");
    logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(level);
  }
  int count(const std::string& needle) const {
    const std::string s = text.str();
    int n = 0;
    for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
    return n;
  }
  // A monitor's options with this log.
  MonitorOptions options() const {
    MonitorOptions o;
    o.logger = logger;
    return o;
  }
};

inline MonitorOptions quiet() { return CapturedLog(spdlog::level::off).options(); }

inline std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("gradscope_monitor_test_" + name)).string();
}

}  // namespace gradscope::testing
