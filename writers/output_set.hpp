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
// Renderers (Graphviz, gnuplot) run in a private temporary directory on fixed file names, so no
// path ever reaches their command line or script; their result counts only when they exited with
// status 0 and the file is complete (non-empty; SVG closed; PNG ending in its IEND chunk; PDF
// ending in %%EOF).
#include <memory>
#include <string>
#include <utility>
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

  // Temporaries and renderers' directories are removed, and a running renderer killed, when the
  // process gets SIGINT, SIGTERM or SIGHUP (the signal then ends the process as it would have),
  // in the calling thread, whichever thread the signal reaches.
  // For programs; a library leaves signals to its user.
  static void clean_up_on_signals();

 private:
  struct Target;
  const Target& identify(const std::string& option, const std::string& path, bool input) const;
  std::vector<std::unique_ptr<Target>> targets_;
};

// A file or (empty once its files are gone) directory the signal handler of clean_up_on_signals
// removes, until forgotten: for outputs built outside an OutputSet (writers/output_dir.hpp).
// Files are removed before directories.
void remove_on_signal(const std::string& path, bool directory);
void forget_on_signal(const std::string& path, bool directory);

// Runs argv[0] (a path, e.g. from find_program) with argv[1..] in a fresh private directory
// holding `inputs` (name, content), as its working directory; its standard output goes nowhere.
// Returns the content of the file it was to write there, `produced` (a fixed name whose extension
// says what a complete file looks like). Throws Error starting with `what` when it cannot start,
// does not exit with 0 (with the first line it printed on stderr) or leaves no complete file.
std::string run_renderer(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& inputs,
                         const std::string& produced, const std::string& what);

// Throws Error (starting with what) unless content is a complete file of the type its name's
// extension says (.svg, .png, .pdf; any other: non-empty).
void check_complete(const std::string& name, const std::string& content, const std::string& what);

}  // namespace gradscope
