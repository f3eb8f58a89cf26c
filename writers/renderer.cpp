#include "gradscope/writers/renderer.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <fmt/format.h>

#include "gradscope/autodiff/error.hpp"
#include "gradscope/writers/fd_io.hpp"
#include "gradscope/writers/printable.hpp"
#include "gradscope/writers/signal_cleanup.hpp"

extern char** environ;

namespace gradscope {

void check_complete(const std::string& name, const std::string& content, const std::string& what) {
  const auto ends_with = [&](std::string_view tail) {
    std::string_view c = content;
    while (!c.empty() && std::isspace((unsigned char)c.back())) c.remove_suffix(1);
    return c.size() >= tail.size() && c.substr(c.size() - tail.size()) == tail;
  };
  const auto dot = name.find_last_of('.');
  const std::string ext = dot == std::string::npos ? "" : name.substr(dot);
  const char* missing = nullptr;
  if (content.empty())
    missing = "is empty";
  else if (ext == ".svg" && !ends_with("</svg>"))
    missing = "is cut short (no closing </svg>)";
  else if (ext == ".png" && !(content.size() >= 12 &&
                              content.compare(content.size() - 8, 4, "IEND") == 0))
    missing = "is cut short (no IEND chunk at the end)";
  else if (ext == ".pdf" && !ends_with("%%EOF"))
    missing = "is cut short (no %%EOF at the end)";
  if (missing) fail("{}: the {} file it wrote {}", what, ext.empty() ? "output" : ext.substr(1), missing);
}

std::string run_renderer(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& inputs,
                         const std::string& produced, const std::string& what) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string dir = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/gradscope-XXXXXX";
  {
    SignalsBlocked b;
    if (!::mkdtemp(dir.data())) fail_errno(what + ": cannot make a temporary directory", errno);
    remove_on_signal(dir, true);
  }
  std::vector<std::string> files;
  for (const auto& [name, content] : inputs) files.push_back(name);
  files.push_back(produced);
  files.push_back("stderr");
  for (const auto& f : files) remove_on_signal(dir + "/" + f, false);
  struct Cleanup {  // everything the directory may hold is named above
    const std::string& dir;
    const std::vector<std::string>& files;
    ~Cleanup() {
      for (const auto& f : files) remove_file_now(dir + "/" + f);
      SignalsBlocked b;
      ::rmdir(dir.c_str());
      forget_on_signal(dir, true);
    }
  } cleanup{dir, files};

  for (const auto& [name, content] : inputs) {
    const int fd = ::open((dir + "/" + name).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    const bool ok = fd >= 0 && write_all(fd, content);
    const int err = errno;
    if (fd >= 0) ::close(fd);
    if (!ok) fail_errno(what + ": cannot write its input", err);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "stderr", O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawnattr_t attr;  // a signal the program ignores (SIGPIPE) is default again in the child
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;  // it is started with our signals blocked (below); it must not inherit that
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int err = 0;
  {
    SignalsBlocked b;  // the handler must know the child from its first instant
    err = ::posix_spawn(&pid, argv.at(0).c_str(), &actions, &attr, args.data(), environ);
    if (!err) kill_on_signal(pid);
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err) fail("{}: cannot start {}: {}", what, argv[0], std::strerror(err));
  int status = 0;
  pid_t waited = 0;
  do waited = ::waitpid(pid, &status, 0);
  while (waited < 0 && errno == EINTR);
  kill_on_signal(0);
  auto read_file = [&](const std::string& name) {
    std::string s;
    const int fd = ::open((dir + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return s;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      s.append(buf, std::size_t(n));
    }
    ::close(fd);
    return s;
  };
  if (waited != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string message = read_file("stderr");
    message = printable_path(message.substr(0, message.find('\n')));
    fail("{}: {} failed ({}){}{}", what, argv[0],
         waited == pid && WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
         : waited == pid ? fmt::format("exit status {}", WEXITSTATUS(status))
                         : std::string("lost"),
         message.empty() ? "" : ": ", message);
  }
  std::string content = read_file(produced);
  check_complete(produced, content, what);
  return content;
}

}  // namespace gradscope
