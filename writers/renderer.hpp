#pragma once
// Running a renderer (Graphviz's dot, gnuplot) so that no path ever reaches its command line or
// script: it runs in a private temporary directory on fixed file names, and its result counts only
// when it exited with status 0 and the file is complete.
#include <string>
#include <utility>
#include <vector>

namespace gradscope {

// Runs argv[0] (a path, e.g. from find_program) with argv[1..] in a fresh private directory
// holding `inputs` (name, content), as its working directory; its standard output goes nowhere.
// Returns the content of the file it was to write there, `produced` (a fixed name whose extension
// says what a complete file looks like). Throws Error starting with `what` when it cannot start,
// does not exit with 0 (with the first line it printed on stderr) or leaves no complete file.
std::string run_renderer(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& inputs,
                         const std::string& produced, const std::string& what);

// Throws Error (starting with what) unless content is a complete file of the type its name's
// extension says (.svg, .png, .pdf (closed); any other: non-empty).
void check_complete(const std::string& name, const std::string& content, const std::string& what);

}  // namespace gradscope
