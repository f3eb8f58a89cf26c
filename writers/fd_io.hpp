#pragma once
// Writing through a file descriptor, for the writers that work below the C++ streams (output_set,
// renderer) and the CLI's report stream: errors as errno; the writers turn them into an Error
// naming the path.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

// The process's file-creation mask, which only setting it reads.
inline mode_t creation_mask() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

}  // namespace gradscope
