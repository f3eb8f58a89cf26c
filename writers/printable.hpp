#pragma once
#include <string>
#include <string_view>

namespace gradscope {

// Text (a path, a field of a file, a program's message) as an error message shows it: one line that
// a terminal shows as it is. Control bytes, bytes of 0x80 and above that are not valid UTF-8, and
// the UTF-8 of C1 controls, line separators and bidirectional controls are escaped ("\x0a",
// "\xff"); printable UTF-8 (é) stays.
std::string printable_path(std::string_view path);

}  // namespace gradscope
