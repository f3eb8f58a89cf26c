#pragma once
// A directory of outputs (gradscope report's) written completely or not at all. Its files are
// written into a private temporary sibling; commit() puts the whole directory in place with one
// rename, exchanged atomically with the previous one, which is then removed. A directory is
// replaced only when it is empty or holds the marker file a previous commit() wrote, so a
// directory of someone's other files is never touched.
#include <string>
#include <vector>

namespace gradscope {

class OutputDirectory {
 public:
  // Checks path before any work: a new name in an existing writable directory, an empty
  // directory, or one holding `marker`; Error naming `option` and path otherwise. Then makes
  // the temporary sibling.
  OutputDirectory(const std::string& option, const std::string& path, std::string marker);
  ~OutputDirectory();  // removes the temporary and its files unless committed
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  // Where a file named `name` is written before commit().
  std::string file(const std::string& name) const { return staging_ + "/" + name; }
  // The names of the files written so far (sorted); each is removed if the process is stopped
  // by a signal (clean_up_on_signals, writers/signal_cleanup.hpp) before commit().
  std::vector<std::string> files();
  // Writes the marker, then moves the directory into place. Throws Error naming the path.
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string shown_, path_, marker_, staging_;
  bool replace_ = false;  // path exists (an empty directory or a previous one)
  std::vector<std::string> tracked_;
};

}  // namespace gradscope
