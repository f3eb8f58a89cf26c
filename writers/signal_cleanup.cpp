#include "gradscope/writers/signal_cleanup.hpp"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace gradscope {

namespace {

// Changed only with the signals blocked, so the handler never sees a half-changed list.
struct Pending {
  std::vector<std::string> files, dirs;
  pid_t child = 0;
};
Pending& pending() {
  static Pending p;
  return p;
}

std::vector<std::string>& list(bool directory) {
  return directory ? pending().dirs : pending().files;
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

}  // namespace

void clean_up_on_signals() {
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

SignalsBlocked::SignalsBlocked() {
  sigset_t s;
  sigemptyset(&s);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&s, sig);
  sigprocmask(SIG_BLOCK, &s, &old_);
}

SignalsBlocked::~SignalsBlocked() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

void remove_on_signal(const std::string& path, bool directory) {
  SignalsBlocked b;
  list(directory).push_back(path);
}

void forget_on_signal(const std::string& path, bool directory) {
  SignalsBlocked b;
  auto& l = list(directory);
  for (auto it = l.begin(); it != l.end(); ++it)
    if (*it == path) {
      l.erase(it);
      return;
    }
}

void remove_file_now(const std::string& path) {
  SignalsBlocked b;
  ::unlink(path.c_str());
  forget_on_signal(path, false);
}

void kill_on_signal(pid_t child) {
  SignalsBlocked b;
  pending().child = child;
}

}  // namespace gradscope
