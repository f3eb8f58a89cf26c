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

// True, with a warning, where the program runs under a sanitizer, whose shadow memory does not fit
// under ulimit -v: the cases that set such a limit return at once there.
inline bool skipped_under_sanitizer() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  WARN("a sanitizer's shadow memory does not fit under ulimit -v: skipped");
  return true;
#else
  return false;
#endif
}

// Runs `source | gradscope args --json out.json` under a 2 GB address-space limit, source being a
// command whose valid output never ends (`yes 1`): the read must stop before memory runs out, with
// the error "gradscope: error: <expected>the <size> read so far would need ..." as the last line
// and the only error line (a read that takes seconds prints its progress first).
inline void expect_stream_stopped(const std::string& source, const std::string& args,
                                  const std::string& expected) {
  if (skipped_under_sanitizer()) return;
  Sandbox box;
  const Result r = run(box, args + " --json out.json", "ulimit -v 2000000; " + source + " | ");
  log_error_message(source + " | gradscope " + args + ", ulimit -v 2000000 → " +
                    r.err.substr(0, r.err.find('\n')));
  INFO(source << " | gradscope " << args << "\nstderr: " << r.err);
  CHECK(r.code == 2);
  const std::string last = r.err.substr(r.err.rfind('\n', r.err.size() - 2) + 1);
  CHECK_THAT(last, Catch::Matchers::StartsWith("gradscope: error: " + expected + "the ") &&
                       Catch::Matchers::Contains(" read so far would need ") &&
                       Catch::Matchers::EndsWith("of memory this process may use\n"));
  CHECK(r.err.find("gradscope: error: ") == r.err.size() - last.size());  // on no earlier line
  CHECK(box.files().empty());
}

}  // namespace gradscope::testing
