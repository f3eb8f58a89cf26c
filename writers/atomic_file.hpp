#pragma once
// Writing output files so that a reader (or a crash) never leaves half a file under the final name:
// everything is written to "<path>.tmp" first and renamed to path once complete.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gradscope {

// Writes content to "<path>.tmp" and renames it to path; on any failure removes the temporary
// and throws Error naming path and the system's reason.
void write_file_atomically(const std::string& path, std::string_view content);

// The executable `name` in a directory of PATH, if any (e.g. "dot", "gnuplot").
std::optional<std::string> find_program(std::string_view name);

// Runs argv (argv[0] a path, e.g. from find_program), which must write its output to
// "<out_path>.tmp"; renames that to out_path once the program exited with status 0. Otherwise
// removes the temporary and throws Error naming out_path, the program and its exit status.
void run_into_file(const std::vector<std::string>& argv, const std::string& out_path);

}  // namespace gradscope
