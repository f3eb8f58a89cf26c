#include "resident.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gradscope::bench {

namespace {
long read_vmrss() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  long kib = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kib = std::strtol(line + 6, nullptr, 10);
      break;
    }
  std::fclose(f);
  return kib;
}
}  // namespace

long resident_kib() {
  // The first reading in a process is taken before this reader's own libc code (stdio, number
  // parsing, fclose) is faulted in, so every later reading would show it: about 150 KiB of
  // file-backed pages measured on this project's machine, growth the measured program never
  // caused. Reading once first and discarding it keeps the reader out of its own figures.
  static const bool warmed = (read_vmrss(), true);
  (void)warmed;
  return read_vmrss();
}

}  // namespace gradscope::bench
