#pragma once
// The one exception type gradscope throws. Messages name the op, the nodes and the shapes involved,
// so a user can act on them without a debugger.
#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace gradscope {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace gradscope
