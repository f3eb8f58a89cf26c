#pragma once
// One command's output files as one transaction. Every path is checked when it is added, before
// any work (its directory, what is there now, collisions with the inputs and the other outputs);
// contents are written to unique temporaries beside their targets and renamed into place only once
// all of them were written, so on any failure no existing file changes.
//
// What a path may be: "-" (standard output; one output at most), a regular file or a new name
// (replaced by rename, keeping the old file's mode), a symbolic link (written through: the file it
// points to is replaced, the link stays), a character or block device or a FIFO (written in place).
// A directory, a socket or a dangling link is refused.
//
// A signal that ends the process before commit() leaves no temporary behind where the program
// installed clean_up_on_signals (writers/signal_cleanup.hpp).
#include <memory>
#include <string>
#include <vector>

namespace gradscope {

class OutputSet {
 public:
  OutputSet();
  ~OutputSet();  // removes the temporaries of a set that was not committed
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  // A file the command reads, which no output may replace.
  void add_input(const std::string& option, const std::string& path);
  // An output, checked now; throws Error naming option and path. An empty path is ignored.
  void add_output(const std::string& option, const std::string& path);
  bool has_output(const std::string& path) const;
  // The content of an added output.
  void set(const std::string& path, std::string content);
  // Writes every content to its temporary, then moves all into place (standard output, devices
  // and FIFOs written directly). Throws Error naming the path that failed; then nothing changed,
  // unless a device or standard output was already written.
  void commit();

 private:
  struct Target;
  std::vector<std::unique_ptr<Target>> targets_;
};

}  // namespace gradscope
