#include "gradscope/writers/output_set.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <optional>

#include "gradscope/autodiff/error.hpp"
#include "gradscope/writers/fd_io.hpp"
#include "gradscope/writers/printable.hpp"
#include "gradscope/writers/signal_cleanup.hpp"

namespace gradscope {

namespace {

std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

struct OutputSet::Target {
  enum class Kind { Input, Stdout, Replace, InPlace };
  std::string option, path;  // as given
  Kind kind = Kind::Input;
  std::string key;       // the file's identity: "-", device:inode, or the resolved new path
  std::string final;     // Replace: the path the temporary is renamed to (links resolved)
  std::optional<mode_t> mode;  // Replace: the mode of the file replaced, if there is one
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
    if (!t->tmp.empty()) remove_file_now(t->tmp);
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
    std::string tmp;
    int fd = -1;
    {
      SignalsBlocked b;
      fd = create_unique(tmp, parent_of(t->final) + "/.gradscope-", [](const char* name) {
        return ::open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0666);
      });
      if (fd >= 0) remove_on_signal(tmp, false);
    }
    if (fd < 0) fail_errno(t->shown(), errno);
    t->tmp = tmp;
    const bool ok = write_all(fd, t->content) && (!t->mode || ::fchmod(fd, *t->mode) == 0) &&
                    ::fsync(fd) == 0;
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
    forget_on_signal(t->tmp, false);
    t->tmp.clear();
  }
}

}  // namespace gradscope
