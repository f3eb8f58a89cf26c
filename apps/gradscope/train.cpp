// `gradscope train`: the seed's third experiment (filled in next).
#include "cli.hpp"

namespace gradscope::cli {
void add_train(CLI::App&) {}
}  // namespace gradscope::cli
