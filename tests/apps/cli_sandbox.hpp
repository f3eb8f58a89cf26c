#pragma once
// Running the gradscope program as a user runs it: in a fresh directory per test case, or in the
// working directory.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace gradscope::testing {

namespace fs = std::filesystem;

inline std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// A fresh directory per case, removed afterwards; the CLI runs inside it.
class Sandbox {
 public:
  Sandbox() {
    static int n = 0;
    dir_ = fs::temp_directory_path() /
           ("gradscope_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~Sandbox() { fs::remove_all(dir_); }
  const fs::path& dir() const { return dir_; }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path dir_;
};

struct Result {
  int code = -1;
  std::string out, err;
};

// Runs the shell command cmd with its stdout and stderr in the files out and err, which are read
// into the result and removed.
inline Result run_shell(const std::string& cmd, const fs::path& out, const fs::path& err) {
  const int status =
      std::system((cmd + " >'" + out.string() + "' 2>'" + err.string() + "'").c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

// Runs `gradscope args` in box through the shell, after `before` (e.g. "ulimit -v 400000; ").
inline Result run(const Sandbox& box, const std::string& args, const std::string& before = "") {
  return run_shell("cd '" + box.dir().string() + "' && " + before + "'" GRADSCOPE_CLI "' " + args,
                   box.dir() / ".stdout", box.dir() / ".stderr");
}

// Runs `gradscope args` in the working directory, for the cases that name their files apart
// there; stdout and stderr through files of this process (ctest -j runs several cases at once).
inline Result run(const std::string& args) {
  const std::string tag = std::to_string(::getpid());
  return run_shell("'" GRADSCOPE_CLI "' " + args, "cli_test_stdout." + tag,
                   "cli_test_stderr." + tag);
}

}  // namespace gradscope::testing
