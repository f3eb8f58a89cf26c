#pragma once
// Writing output files so that a reader (or a crash) never leaves half a file under the final name.
#include <string>
#include <string_view>

namespace gradscope {

// Writes content to "<path>.tmp" and renames it to path; on any failure removes the temporary
// and throws Error naming path and the system's reason.
void write_file_atomically(const std::string& path, std::string_view content);

}  // namespace gradscope
