// Where the command's results go: the output files as one transaction, and the report stream.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <gradscope/writers/atomic_file.hpp>
#include <gradscope/writers/fd_io.hpp>

#include "cli.hpp"

namespace gradscope::cli {

namespace {
int report_fd = STDOUT_FILENO;
bool wrap_report = true;  // off with --wide
std::string report_line;  // the report's current line, until its '\n'

// Writes to report_fd; a reader that left (EPIPE) drops the rest of the report, not the command:
// its files are still written.
bool emit(const std::string& text) { return write_all(report_fd, text) || errno == EPIPE; }

// The report's stream: whole lines, prose longer than 100 columns wrapped at a space (tables fit
// already, Table::print).
ssize_t write_report(void*, const char* buf, std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    if (buf[i] != '\n') {
      report_line += buf[i];
      continue;
    }
    while (wrap_report && report_line.size() > 100) {
      const auto space = report_line.rfind(' ', 100);
      if (space == std::string::npos || space == 0) break;
      out += report_line.substr(0, space) + "\n";
      report_line.erase(0, space + 1);
    }
    out += report_line + "\n";
    report_line.clear();
  }
  return emit(out) ? ssize_t(size) : -1;
}

void flush_report() {  // at exit: what is left of a last line without '\n'
  std::fflush(stdout);
  emit(report_line);
  report_line.clear();
}

std::string extension(const std::string& path) {
  return std::filesystem::path(path).extension().string();
}
}  // namespace

void route_report() {
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe is EPIPE from write(), handled where written
  FILE* report = ::fopencookie(nullptr, "w", cookie_io_functions_t{nullptr, write_report, nullptr,
                                                                   nullptr});
  if (!report) return;  // the ordinary stdout stays
  std::setvbuf(report, nullptr, ::isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
  stdout = report;  // glibc: stdout is a variable, and fmt::print and printf read it per call
  std::atexit(flush_report);
}

void report_to_stderr() {
  std::fflush(stdout);
  report_fd = STDERR_FILENO;
}

std::string capture_report(const std::function<void()>& work) {
  std::fflush(stdout);
  char* buffer = nullptr;
  std::size_t size = 0;
  FILE* memory = ::open_memstream(&buffer, &size);
  if (!memory) fail("cannot collect the report's text: {}", std::strerror(errno));
  struct Restore {  // the report stream back, the memory freed, also when work throws
    FILE* saved;
    FILE* memory;
    char*& buffer;
    ~Restore() {
      stdout = saved;
      std::fclose(memory);
      std::free(buffer);
    }
  } restore{stdout, memory, buffer};
  stdout = memory;  // as route_report: fmt::print and printf read the variable per call
  work();
  std::fflush(memory);
  return std::string(buffer, size);
}

Outputs::Outputs(const OutputOptions& out, const NetworkOptions& net) : out_(out) {
  const bool graph = !out.dot.empty() || !out.svg.empty();
  if (!graph && out.collapse) fail("--collapse needs --dot or --svg");
  if (!graph && !out.grad_norm.empty())
    fail("--grad-norm {} needs --dot or --svg", out.grad_norm);
  if (!out.dot.empty() && out.dot != "-" && extension(out.dot) != ".dot" &&
      extension(out.dot) != ".gv")
    fail("--dot {}: unknown extension '{}' (use .dot or .gv)", printable_path(out.dot),
         extension(out.dot));
  if (!out.svg.empty() && out.svg != "-" && extension(out.svg) != ".svg")
    fail("--svg {}: unknown extension '{}' (use .svg)", printable_path(out.svg),
         extension(out.svg));
  graphviz_ = bool(find_program("dot"));
  if (!out.svg.empty() && !graphviz_)
    fail(
        "--svg {}: Graphviz's dot is not on PATH (install graphviz, or write --dot and render "
        "it later)",
        printable_path(out.svg));
  files_.add_input("--data", net.data);
  files_.add_output("--json", out.json);
  files_.add_output("--dot", out.dot);
  files_.add_output("--svg", out.svg);
  if (!out.dot.empty() && out.dot != "-" && out.svg.empty() && graphviz_) {
    beside_ = rendered_beside(out.dot);
    for (const auto& image : beside_)
      files_.add_output(fmt::format("--dot {} renders", printable_path(out.dot)), image);
  }
  if (out.json == "-" || out.dot == "-" || out.svg == "-") report_to_stderr();
  Table::set_wide(out.wide);
  wrap_report = !out.wide;
}

void Outputs::set(const std::string& path, std::string content) {
  files_.set(path, std::move(content));
  written_.push_back(path == "-" ? "standard output" : printable_path(path));
}

void Outputs::finish(const Graph<double>& graph, const json& doc) {
  Building b("writing the output files");
  if (!out_.json.empty()) set(out_.json, doc.dump(2) + "\n");
  if (!out_.dot.empty() || !out_.svg.empty()) {
    DotOptions dot;
    dot.collapse = out_.collapse;
    dot.norm = out_.grad_norm == "max"    ? GradNorm::Max
               : out_.grad_norm == "mean" ? GradNorm::Mean
                                          : GradNorm::L2;
    dot.edge_gradients = true;  // the CLI's pictures always show the flow along each edge
    const std::string text = to_dot(graph, dot);
    if (!out_.dot.empty()) set(out_.dot, text);
    if (!out_.svg.empty())
      set(out_.svg, render_dot_text(text, "svg", "--svg " + printable_path(out_.svg)));
    for (const auto& image : beside_)
      set(image, render_dot_text(text, image.substr(image.size() - 3),
                                 "--dot " + printable_path(out_.dot) + ": rendering " +
                                     printable_path(image)));
  }
  commit();
  if (!out_.dot.empty() && out_.dot != "-" && out_.svg.empty() && !graphviz_)
    fmt::print("Graphviz 'dot' not found on PATH; render with: dot -Tsvg {} -o {}\n",
               printable_path(out_.dot), printable_path(rendered_beside(out_.dot)[0]));
}

void Outputs::finish(const json& doc) {
  Building b("writing the output files");
  if (!out_.json.empty()) set(out_.json, doc.dump(2) + "\n");
  commit();
}

void Outputs::commit() {
  files_.commit();
  if (!written_.empty()) fmt::print("wrote {}\n", fmt::join(written_, ", "));
}

}  // namespace gradscope::cli
