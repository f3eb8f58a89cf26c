#pragma once
// Writing through a file descriptor, for the writers that work below the C++ streams (output_set,
// renderer) and the CLI's report stream: errors as errno; the writers turn them into an Error
// naming the path.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include "gradscope/autodiff/error.hpp"

namespace gradscope {

[[noreturn]] inline void fail_errno(const std::string& what, int err) {
  fail("{}: {}", what, std::strerror(err));
}

// Writes all of content to fd; false (errno set) on failure.
inline bool write_all(int fd, const std::string& content) {
  for (std::size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;  // nothing written and no error reported: do not retry forever
    if (n <= 0) return false;
    done += std::size_t(n);
  }
  return true;
}

// Creates a new file or directory named prefix + eight random letters and digits: calls
// create(name) (an open with O_CREAT | O_EXCL, or a mkdir) with fresh names while it fails with
// EEXIST, and returns its result (-1 with errno set on failure), the name in `name`. Unlike mkstemp
// and mkdtemp, which make their files 0600 and 0700, create's mode is filtered by the umask as
// for any new file, so no caller reads the umask (which only setting it does, a race with other
// threads creating files).
template <class Create>
int create_unique(std::string& name, const std::string& prefix, Create create) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 random{std::random_device{}()};
  for (int attempt = 0; attempt < 100; ++attempt) {
    name = prefix;
    for (int k = 0; k < 8; ++k) name += kChars[random() % (sizeof kChars - 1)];
    const int result = create(name.c_str());
    if (result >= 0 || errno != EEXIST) return result;
  }
  return -1;  // errno is EEXIST
}

}  // namespace gradscope
