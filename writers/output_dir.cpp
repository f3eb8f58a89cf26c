#include "gradscope/writers/output_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "gradscope/autodiff/error.hpp"
#include "gradscope/writers/atomic_file.hpp"
#include "gradscope/writers/fd_io.hpp"
#include "gradscope/writers/printable.hpp"
#include "gradscope/writers/signal_cleanup.hpp"

namespace gradscope {

namespace fs = std::filesystem;

OutputDirectory::OutputDirectory(const std::string& option, const std::string& path,
                                 std::string marker)
    : shown_(option + " " + printable_path(path)), marker_(std::move(marker)) {
  if (path.empty()) fail("{}: give a directory", option);
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  path_ = trimmed;
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail("{}: exists and is not a directory", shown_);
    std::error_code ec;
    const bool empty = fs::is_empty(path_, ec);
    if (ec) fail("{}: {}", shown_, ec.message());
    struct stat mst {};
    const bool report = ::lstat((path_ + "/" + marker_).c_str(), &mst) == 0 && S_ISREG(mst.st_mode);
    if (!empty && !report)
      fail("{}: is a directory that is not a previous report (no {} in it); give a new or empty "
           "directory",
           shown_, marker_);
    replace_ = true;
  } else if (errno != ENOENT) {
    fail("{}: {}", shown_, std::strerror(errno));
  }
  const fs::path p(path_);
  const std::string parent = p.has_parent_path() ? p.parent_path().string() : ".";
  struct stat pst {};
  if (::stat(parent.c_str(), &pst) != 0 || !S_ISDIR(pst.st_mode))
    fail("{}: directory '{}' does not exist", shown_, printable_path(parent));
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    fail("{}: directory '{}' is not writable", shown_, printable_path(parent));
  {
    SignalsBlocked b;  // no signal between making the directory and listing it
    if (create_unique(staging_, parent + "/." + p.filename().string() + ".gradscope-",
                      [](const char* name) { return ::mkdir(name, 0777); }) != 0)
      fail("{}: cannot make a temporary directory: {}", shown_, std::strerror(errno));
    remove_on_signal(staging_, true);
  }
}

OutputDirectory::~OutputDirectory() {
  if (staging_.empty()) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
  for (const auto& f : tracked_) forget_on_signal(f, false);
  forget_on_signal(staging_, true);
}

std::vector<std::string> OutputDirectory::files() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(staging_)) {
    const std::string full = e.path().string();
    if (std::find(tracked_.begin(), tracked_.end(), full) == tracked_.end()) {
      remove_on_signal(full, false);
      tracked_.push_back(full);
    }
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void OutputDirectory::commit() {
  write_file_atomically(file(marker_), "gradscope report\n");
  files();
  // An existing directory is exchanged with the new one in one step; the old one then sits at the
  // temporary's name and is removed with it.
  const int rc = replace_ ? ::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, path_.c_str(),
                                        RENAME_EXCHANGE)
                          : ::rename(staging_.c_str(), path_.c_str());
  if (rc != 0) fail("{}: cannot move the new directory into place: {}", shown_, std::strerror(errno));
  if (!replace_) {
    for (const auto& f : tracked_) forget_on_signal(f, false);
    forget_on_signal(staging_, true);
    tracked_.clear();
    staging_.clear();
  }
}

}  // namespace gradscope
