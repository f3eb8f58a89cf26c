#pragma once
// What a signal removes before it ends the process: the temporaries and private directories that
// outputs (output_set, output_dir) and renderers (renderer) hold while they work, and a running
// renderer. A program installs the handler (clean_up_on_signals); a library leaves signals to its
// user, and then the lists are kept but never read.
#include <sys/types.h>

#include <csignal>
#include <string>

namespace gradscope {

// On SIGINT, SIGTERM or SIGHUP (those the process does not ignore, as under nohup): kills the
// listed renderer, removes the listed files, then the directories (empty once their files are
// gone), and lets the signal end the process as it would have. The calling thread handles them,
// whichever thread a signal reaches.
void clean_up_on_signals();

// The three signals blocked while it lives: what creates a file and lists it does both inside one,
// so that no signal comes between them. Nests.
class SignalsBlocked {
 public:
  SignalsBlocked();
  ~SignalsBlocked();
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t old_;
};

// A file or directory a signal removes, until forgotten.
void remove_on_signal(const std::string& path, bool directory);
void forget_on_signal(const std::string& path, bool directory);
// Removes the file now and forgets it.
void remove_file_now(const std::string& path);
// The renderer a signal kills (0: none).
void kill_on_signal(pid_t child);

}  // namespace gradscope
