#include "gradscope/writers/atomic_file.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "gradscope/writers/output_set.hpp"

namespace gradscope {

void write_file_atomically(const std::string& path, std::string_view content) {
  OutputSet out;
  out.add_output("cannot write", path);
  out.set(path, std::string(content));
  out.commit();
}

std::optional<std::string> find_program(std::string_view name) {
  const char* env = std::getenv("PATH");
  std::string_view paths = env ? env : "";
  while (!paths.empty()) {
    const auto colon = paths.find(':');
    const std::string_view dir = paths.substr(0, colon);
    std::string candidate = dir.empty() ? "." : std::string(dir);
    candidate.append("/").append(name);
    std::error_code ec;
    if (::access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate, ec))
      return candidate;
    paths = colon == std::string_view::npos ? std::string_view{} : paths.substr(colon + 1);
  }
  return std::nullopt;
}

}  // namespace gradscope
