// The gradscope command line. Every failure — bad options, malformed input files, errors from
// the library, output files that cannot be written, too little memory — ends as one line on
// stderr and exit code 2, with no output file changed.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include <gradscope/writers/signal_cleanup.hpp>

#include "cli.hpp"

namespace {
int error(const std::string& message) {  // one line, whatever bytes the message quotes
  std::fflush(stdout);
  std::fprintf(stderr, "gradscope: error: %s\n", gradscope::printable_path(message).c_str());
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gradscope: make vanishing and exploding gradients visible"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gradscope " GRADSCOPE_VERSION);
  app.footer(
      "demo and train follow the blog post's experiments (docs/post.md), so their defaults "
      "differ: demo (one pass) w = 0.8*I, 10 points per class, class means (2,3) and (7,6); "
      "train w = 1.1*I, 1000 points per class, means (2,3) and (17,10). gradscope SUBCOMMAND "
      "--help lists every option with its default.");
  gradscope::cli::add_demo(app);
  gradscope::cli::add_train(app);
  gradscope::cli::add_compare(app);
  gradscope::cli::add_sweep(app);
  gradscope::cli::add_report(app);
  gradscope::cli::route_report();
  gradscope::clean_up_on_signals();
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string message = e.what();
    // CLI11 reports `gradscope` and `gradscope frobnicate` as "A subcommand is required".
    const auto rest = app.remaining();
    if (app.get_subcommands().empty() && rest.empty())
      message = fmt::format("a subcommand is required: {} (gradscope --help describes them)",
                            fmt::join(names, ", "));
    else if (app.get_subcommands().empty() && rest.front().rfind('-', 0) != 0)
      message = fmt::format("unknown subcommand '{}' (expected {})",
                            gradscope::printable_path(rest.front()), fmt::join(names, ", "));
    return error(message);
  } catch (const gradscope::Error& e) {
    return error(e.what());
  } catch (const std::bad_alloc&) {
    const std::string& what = gradscope::cli::Building::current();
    return error(fmt::format("out of memory{}{}; try smaller options", what.empty() ? "" : " while ",
                             what));
  } catch (const std::filesystem::filesystem_error& e) {
    return error(fmt::format("{}: {}", gradscope::printable_path(e.path1().string()),
                             e.code().message()));
  } catch (const std::exception& e) {  // a bug, not bad input
    std::fflush(stdout);
    std::fprintf(stderr, "gradscope: internal error: %s\n",
                 gradscope::printable_path(e.what()).c_str());
    return 1;
  }
  return 0;
}
