#include "gradscope/writers/atomic_file.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gradscope/autodiff/error.hpp"

extern char** environ;

namespace gradscope {

namespace {
std::string temporary(const std::string& path) { return path + ".tmp"; }

// Renames tmp to path; on failure removes tmp and throws naming path.
void move_into_place(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail("cannot write '{}': {}", path, std::strerror(err));
  }
}
}  // namespace

void write_file_atomically(const std::string& path, std::string_view content) {
  const std::string tmp = temporary(path);
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) fail("cannot write '{}': {}", path, std::strerror(errno));
  out.write(content.data(), std::streamsize(content.size()));
  out.close();
  if (!out) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail("cannot write '{}': {}", path, std::strerror(err));
  }
  move_into_place(tmp, path);
}

std::optional<std::string> find_program(std::string_view name) {
  const char* env = std::getenv("PATH");
  std::string_view paths = env ? env : "";
  while (!paths.empty()) {
    const auto colon = paths.find(':');
    const std::string_view dir = paths.substr(0, colon);
    std::string candidate = dir.empty() ? "." : std::string(dir);
    candidate.append("/").append(name);
    if (::access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate))
      return candidate;
    paths = colon == std::string_view::npos ? std::string_view{} : paths.substr(colon + 1);
  }
  return std::nullopt;
}

void run_into_file(const std::vector<std::string>& args, const std::string& out_path) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::string tmp = temporary(out_path);
  pid_t pid = 0;
  if (const int err =
          ::posix_spawn(&pid, args.at(0).c_str(), nullptr, nullptr, argv.data(), environ))
    fail("cannot write '{}': starting {} failed: {}", out_path, args[0], std::strerror(err));
  int status = 0;
  pid_t waited = 0;
  do {
    waited = ::waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (waited != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::remove(tmp.c_str());
    fail("cannot write '{}': {} failed (exit status {})", out_path, args[0],
         waited == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  move_into_place(tmp, out_path);
}

}  // namespace gradscope
