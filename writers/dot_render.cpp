// Rendering DOT into images with Graphviz's dot (writers/graphviz.hpp), and export_dot: the DOT
// file with its renderings, written together or not at all.
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gradscope/writers/atomic_file.hpp"
#include "gradscope/writers/graphviz.hpp"
#include "gradscope/writers/output_set.hpp"
#include "gradscope/writers/printable.hpp"
#include "gradscope/writers/renderer.hpp"

namespace gradscope {

std::string render_dot_text(const std::string& dot_text, const std::string& format,
                            const std::string& what) {
  if (format != "svg" && format != "png" && format != "pdf")
    fail("{}: unknown format '{}' (use .svg, .png or .pdf)", what, format);
  const auto dot = find_program("dot");
  if (!dot) fail("{}: Graphviz 'dot' is not on PATH; install graphviz", what);
  const std::string image = "graph." + format;  // fixed names: no path reaches dot's arguments
  return run_renderer({*dot, "-T" + format, "graph.dot", "-o", image}, {{"graph.dot", dot_text}},
                      image, what);
}

std::vector<std::string> rendered_beside(const std::string& dot_path) {
  const std::string stem = std::filesystem::path(dot_path).replace_extension().string();
  return {stem + ".svg", stem + ".png"};
}

void render_dot(const std::string& dot_path, const std::string& out_path) {
  const std::string what = fmt::format("cannot render '{}'", printable_path(out_path));
  const std::string ext = std::filesystem::path(out_path).extension().string();
  std::ifstream in(dot_path, std::ios::binary);
  if (!std::filesystem::is_regular_file(dot_path) || !in)
    fail("{}: DOT file '{}' does not exist", what, printable_path(dot_path));
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  OutputSet out;
  out.add_input("DOT file", dot_path);
  out.add_output("cannot render", out_path);
  out.set(out_path, render_dot_text(text, ext.empty() ? "" : ext.substr(1), what));
  out.commit();
}

template <class T>
DotExport export_dot(const Graph<T>& g, const std::string& dot_path, const DotOptions& options) {
  DotExport result{{dot_path}, {}};
  OutputSet out;
  out.add_output("cannot write", dot_path);
  const std::string text = to_dot(g, options);
  out.set(dot_path, text);
  if (!find_program("dot")) {
    result.note = fmt::format("Graphviz 'dot' not found on PATH; render with: dot -Tsvg {} -o {}",
                              dot_path, rendered_beside(dot_path)[0]);
  } else {
    for (const auto& image : rendered_beside(dot_path)) {
      out.add_output("cannot write", image);
      out.set(image, render_dot_text(text, image.substr(image.size() - 3),
                                     fmt::format("cannot render '{}'", printable_path(image))));
      result.files.push_back(image);
    }
  }
  out.commit();
  return result;
}

#define GRADSCOPE_INSTANTIATE(T) \
  template DotExport export_dot(const Graph<T>&, const std::string&, const DotOptions&);
GRADSCOPE_INSTANTIATE(double)
GRADSCOPE_INSTANTIATE(float)
#undef GRADSCOPE_INSTANTIATE

}  // namespace gradscope
