#include "gradscope/writers/output_set.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

#include "gradscope/autodiff/error.hpp"
#include "gradscope/writers/printable.hpp"

extern char** environ;

namespace gradscope {

namespace {

// What a signal handler removes: the live temporaries and private directories, and the running
// renderer. Changed only with the signals blocked, so the handler never sees a half-changed list.
struct Pending {
  std::vector<std::string> files, dirs;
  pid_t child = 0;
};
Pending& pending() {
  static Pending p;
  return p;
}

class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&s, sig);
    sigprocmask(SIG_BLOCK, &s, &old_);
  }
  ~SignalsBlocked() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

void forget(std::vector<std::string>& list, const std::string& s) {
  for (auto it = list.begin(); it != list.end(); ++it)
    if (*it == s) {
      list.erase(it);
      return;
    }
}
void track_file(const std::string& p) {
  SignalsBlocked b;
  pending().files.push_back(p);
}
void remove_file(const std::string& p) {
  SignalsBlocked b;
  ::unlink(p.c_str());
  forget(pending().files, p);
}

// The thread that installed the handler, which is the one that blocks the signals while it changes
// the lists above.
pthread_t handling_thread;

void on_signal(int sig) {  // async-signal-safe calls only
  // Another thread (OpenBLAS starts its own) takes the signal while that thread has it blocked:
  // handed on, it waits until the lists are consistent again.
  if (!pthread_equal(pthread_self(), handling_thread)) {
    pthread_kill(handling_thread, sig);
    return;
  }
  const Pending& p = pending();
  if (p.child > 0) {
    ::kill(p.child, SIGKILL);
    ::waitpid(p.child, nullptr, 0);
  }
  for (const auto& f : p.files) ::unlink(f.c_str());
  for (const auto& d : p.dirs) ::rmdir(d.c_str());
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

[[noreturn]] void fail_errno(const std::string& what, int err) {
  fail("{}: {}", what, std::strerror(err));
}

// Writes all of content to fd; false (errno set) on failure.
bool write_all(int fd, const std::string& content) {
  for (std::size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += std::size_t(n);
  }
  return true;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

mode_t default_mode() {  // what open(O_CREAT, 0666) would give a new file
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

void remove_on_signal(const std::string& path, bool directory) {
  SignalsBlocked b;
  (directory ? pending().dirs : pending().files).push_back(path);
}

void forget_on_signal(const std::string& path, bool directory) {
  SignalsBlocked b;
  forget(directory ? pending().dirs : pending().files, path);
}

struct OutputSet::Target {
  enum class Kind { Input, Stdout, Replace, InPlace };
  std::string option, path;  // as given
  Kind kind = Kind::Input;
  std::string key;       // the file's identity: "-", device:inode, or the resolved new path
  std::string final;     // Replace: the path the temporary is renamed to (links resolved)
  mode_t mode = 0;       // Replace: the mode the file has or would get
  bool has_content = false;
  std::string content, tmp;
  // "--json out.json" for the command line's options, "cannot write 'out.json'" for the library's.
  std::string shown() const {
    return option.rfind('-', 0) == 0 ? option + " " + printable_path(path)
                                     : option + " '" + printable_path(path) + "'";
  }
};

OutputSet::OutputSet() = default;

OutputSet::~OutputSet() {
  for (const auto& t : targets_)
    if (!t->tmp.empty()) remove_file(t->tmp);
}

void OutputSet::clean_up_on_signals() {
  handling_thread = pthread_self();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;  // nohup
    ::sigaction(sig, &sa, nullptr);
  }
}

void OutputSet::add_input(const std::string& option, const std::string& path) {
  auto t = std::make_unique<Target>();
  t->option = option;
  t->path = path;
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return;  // the reader names what is wrong
  t->key = fmt::format("{}:{}", st.st_dev, st.st_ino);
  targets_.push_back(std::move(t));
}

bool OutputSet::has_output(const std::string& path) const {
  for (const auto& t : targets_)
    if (t->kind != Target::Kind::Input && t->path == path) return true;
  return false;
}

void OutputSet::add_output(const std::string& option, const std::string& path) {
  if (path.empty()) return;
  auto t = std::make_unique<Target>();
  t->option = option;
  t->path = path;
  const std::string shown = t->shown();
  struct stat st {};
  if (path == "-") {
    t->kind = Target::Kind::Stdout;
    t->key = "-";
  } else if (::stat(path.c_str(), &st) == 0) {
    t->key = fmt::format("{}:{}", st.st_dev, st.st_ino);
    if (S_ISDIR(st.st_mode)) fail("{}: is a directory", shown);
    if (S_ISSOCK(st.st_mode)) fail("{}: is a socket", shown);
    if (!S_ISREG(st.st_mode)) {
      t->kind = Target::Kind::InPlace;  // a device or a FIFO
    } else {
      char* real = ::realpath(path.c_str(), nullptr);
      if (!real) fail_errno(shown, errno);
      t->final = real;
      std::free(real);
      t->kind = Target::Kind::Replace;
      t->mode = st.st_mode & 07777;
      if (::access(path.c_str(), W_OK) != 0) fail("{}: the file is not writable", shown);
    }
  } else {
    const int err = errno;
    struct stat lst {};
    if (err == ENOENT && ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode))
      fail("{}: is a symbolic link to a file that does not exist", shown);
    if (err != ENOENT) fail_errno(shown, err);
    if (path.back() == '/') fail("{}: names a directory, not a file", shown);
    const std::string dir = parent_of(path);
    struct stat dst {};
    if (::stat(dir.c_str(), &dst) != 0)
      fail("{}: directory '{}': {}", shown, printable_path(dir),
           errno == ENOENT ? "does not exist" : std::strerror(errno));
    if (!S_ISDIR(dst.st_mode)) fail("{}: '{}' is not a directory", shown, printable_path(dir));
    char* real = ::realpath(dir.c_str(), nullptr);
    if (!real) fail_errno(shown, errno);
    t->final = std::string(real) + (std::string(real) == "/" ? "" : "/") +
               path.substr(path.find_last_of('/') + 1);
    std::free(real);
    t->kind = Target::Kind::Replace;
    t->mode = default_mode();
    t->key = t->final;
  }
  if (t->kind == Target::Kind::Replace && ::access(parent_of(t->final).c_str(), W_OK | X_OK) != 0)
    fail("{}: directory '{}' is not writable", shown, printable_path(parent_of(t->final)));
  for (const auto& o : targets_) {
    if (o->key != t->key) continue;
    if (t->kind == Target::Kind::Stdout)
      fail("{}: standard output is already taken by {} -", shown, o->option);
    if (o->kind == Target::Kind::Input)
      fail("{}: is the input file given to {}; it would be replaced", shown, o->option);
    fail("{}: is the same file as {}; one would replace the other", shown, o->shown());
  }
  targets_.push_back(std::move(t));
}

void OutputSet::set(const std::string& path, std::string content) {
  for (auto& t : targets_)
    if (t->kind != Target::Kind::Input && t->path == path) {
      t->content = std::move(content);
      t->has_content = true;
      return;
    }
  fail("output '{}' was not declared before the command's work", printable_path(path));
}

void OutputSet::commit() {
  // Phase 1: every file's temporary, beside it, complete (a full disk fails here).
  for (auto& t : targets_) {
    if (t->kind != Target::Kind::Replace) continue;
    std::string tmp = parent_of(t->final) + "/.gradscope-XXXXXX";
    int fd = -1;
    {
      SignalsBlocked b;
      fd = ::mkstemp(tmp.data());
      if (fd >= 0) pending().files.push_back(tmp);
    }
    if (fd < 0) fail_errno(t->shown(), errno);
    t->tmp = tmp;
    const bool ok = write_all(fd, t->content) && ::fchmod(fd, t->mode) == 0 && ::fsync(fd) == 0;
    const int err = errno;
    if (::close(fd) != 0 || !ok) fail_errno(t->shown(), ok ? errno : err);
  }
  // Phase 2: standard output and devices (cannot be undone), then the renames.
  for (const auto& t : targets_) {
    if (t->kind == Target::Kind::Stdout) {
      if (!write_all(STDOUT_FILENO, t->content))
        fail_errno(t->shown() + " (standard output)", errno);
    } else if (t->kind == Target::Kind::InPlace) {
      const int fd = ::open(t->path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
      if (fd < 0) fail_errno(t->shown(), errno);
      const bool ok = write_all(fd, t->content);
      const int err = errno;
      if (::close(fd) != 0 || !ok) fail_errno(t->shown(), ok ? errno : err);
    }
  }
  for (auto& t : targets_) {
    if (t->kind != Target::Kind::Replace) continue;
    if (::rename(t->tmp.c_str(), t->final.c_str()) != 0)
      fail_errno(t->shown(), errno);
    SignalsBlocked b;
    forget(pending().files, t->tmp);
    t->tmp.clear();
  }
}

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
    pending().dirs.push_back(dir);
  }
  std::vector<std::string> files;
  for (const auto& [name, content] : inputs) files.push_back(name);
  files.push_back(produced);
  files.push_back("stderr");
  for (const auto& f : files) track_file(dir + "/" + f);
  struct Cleanup {  // everything the directory may hold is named above
    const std::string& dir;
    const std::vector<std::string>& files;
    ~Cleanup() {
      for (const auto& f : files) remove_file(dir + "/" + f);
      SignalsBlocked b;
      ::rmdir(dir.c_str());
      forget(pending().dirs, dir);
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
    if (!err) pending().child = pid;
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err) fail("{}: cannot start {}: {}", what, argv[0], std::strerror(err));
  int status = 0;
  pid_t waited = 0;
  do waited = ::waitpid(pid, &status, 0);
  while (waited < 0 && errno == EINTR);
  {
    SignalsBlocked b;
    pending().child = 0;
  }
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
