#pragma once
// Writing one output file so that a reader (or a crash) never sees half a file under its name: the
// content goes to a unique temporary beside it, renamed into place once complete (an OutputSet of
// one file, writers/output_set.hpp).
#include <optional>
#include <string>
#include <string_view>

namespace gradscope {

// Writes content to path as OutputSet does (a device or FIFO is written in place, a symbolic link
// written through, an existing file keeps its mode); on any failure nothing changes and Error
// says "cannot write '<path>': " and why.
void write_file_atomically(const std::string& path, std::string_view content);

// The executable `name` in a directory of PATH, if any (e.g. "dot", "gnuplot").
std::optional<std::string> find_program(std::string_view name);

}  // namespace gradscope
