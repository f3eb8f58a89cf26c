#pragma once
// The check of the command line's bad-input tests: exactly one line on stderr ("gradscope: error:
// ..." naming what was wrong), exit code 2, and no output file (nor a temporary one) left behind.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "apps/cli_sandbox.hpp"
#include "reliability/expect_error.hpp"

namespace gradscope::testing {

// Runs `gradscope args --json out.json` in box; expects the one-line error containing `expected`
// and no file besides the inputs the case wrote.
inline void expect_usage_error(const Sandbox& box, const std::string& args,
                               const std::string& expected) {
  const auto before = box.files();
  const Result r = run(box, args + " --json out.json");
  log_error_message("gradscope " + args + " → " + r.err.substr(0, r.err.find('\n')));
  INFO("gradscope " << args << "\nstdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Matchers::StartsWith("gradscope: error: ") &&
                        Catch::Matchers::Contains(expected));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.back() == '\n');
  CHECK(box.files() == before);  // neither out.json nor out.json.partial
}

}  // namespace gradscope::testing
