#pragma once
// Running the gradscope program in a fresh directory per test case, as a user runs it.
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

// Runs `gradscope args` in box through the shell, after `before` (e.g. "ulimit -v 400000; ").
inline Result run(const Sandbox& box, const std::string& args, const std::string& before = "") {
  const std::string cmd = "cd '" + box.dir().string() + "' && " + before + "'" GRADSCOPE_CLI "' " +
                          args + " >.stdout 2>.stderr";
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(box.dir() / ".stdout");
  r.err = slurp(box.dir() / ".stderr");
  fs::remove(box.dir() / ".stdout");
  fs::remove(box.dir() / ".stderr");
  return r;
}

}  // namespace gradscope::testing
