// The gradscope command line. Every failure — bad options, malformed input files, errors from
// the library — ends as one line on stderr and exit code 2, with no output file left behind.
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"gradscope: make vanishing and exploding gradients visible"};
  app.require_subcommand(1);
  gradscope::cli::add_demo(app);
  gradscope::cli::add_train(app);
  gradscope::cli::add_compare(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::string message = e.what();
    // CLI11 reports `gradscope frobnicate` as "A subcommand is required": name the word instead.
    const auto rest = app.remaining();
    if (app.get_subcommands().empty() && !rest.empty() && rest.front().rfind('-', 0) != 0) {
      std::vector<std::string> names;
      for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        names.push_back(sub->get_name());
      message = fmt::format("unknown subcommand '{}' (expected {})", rest.front(),
                            fmt::join(names, ", "));
    }
    std::fprintf(stderr, "gradscope: error: %s\n", message.c_str());
    return 2;
  } catch (const gradscope::Error& e) {
    std::fprintf(stderr, "gradscope: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // a bug, not bad input
    std::fprintf(stderr, "gradscope: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
