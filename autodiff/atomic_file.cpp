#include "gradscope/autodiff/atomic_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "gradscope/autodiff/error.hpp"

namespace gradscope {

void write_file_atomically(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) fail("cannot write '{}': {}", path, std::strerror(errno));
  out.write(content.data(), std::streamsize(content.size()));
  out.close();
  if (!out) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail("cannot write '{}': {}", path, std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail("cannot write '{}': {}", path, std::strerror(err));
  }
}

}  // namespace gradscope
