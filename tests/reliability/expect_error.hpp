#pragma once
// expect_error(f, {"part", ...}): f must throw gradscope::Error whose message contains every part.
// With GRADSCOPE_ERROR_LOG=FILE set, each message is appended to FILE beside its test's name, so
// docs/reliability.md quotes the messages the suite really saw.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <gradscope/autodiff/error.hpp>
#include <initializer_list>
#include <string>

namespace gradscope::testing {

inline void log_error_message(const std::string& message) {
  if (const char* path = std::getenv("GRADSCOPE_ERROR_LOG"))
    std::ofstream(path, std::ios::app)
        << Catch::getResultCapture().getCurrentTestName() << '\t' << message << '\n';
}

inline void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
    FAIL_CHECK("no gradscope::Error thrown");
  } catch (const Error& e) {
    const std::string message = e.what();
    log_error_message(message);
    INFO("message: " << message);
    for (const auto& p : parts) CHECK_THAT(message, Catch::Matchers::Contains(p));
  }
}

}  // namespace gradscope::testing
