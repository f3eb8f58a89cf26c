// Randomised combinations of output options and paths, checked against the transaction rule: exit 0
// with every output complete, or exit 2 with no file changed. Deterministic (a fixed seed; set
// GRADSCOPE_OUTPUT_FUZZ_SEED to try others) and bounded by a count of runs.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "apps/cli_sandbox.hpp"

using namespace gradscope::testing;  // Sandbox, run, Result, slurp

namespace {

// What is at a path, without following a last symbolic link: kind, and content or link target.
struct Entry {
  char kind = '?';  // f file, l link, d directory, p FIFO, c device
  std::string content;
  unsigned mode = 0;
  bool operator==(const Entry& o) const {
    return kind == o.kind && content == o.content && mode == o.mode;
  }
};

std::map<std::string, Entry> tree(const fs::path& dir) {
  std::map<std::string, Entry> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    struct stat st {};
    REQUIRE(::lstat(e.path().c_str(), &st) == 0);
    Entry x;
    x.mode = st.st_mode & 07777;
    if (S_ISLNK(st.st_mode))
      x.kind = 'l', x.content = fs::read_symlink(e.path()).string();
    else if (S_ISREG(st.st_mode))
      x.kind = 'f', x.content = slurp(e.path());
    else if (S_ISDIR(st.st_mode))
      x.kind = 'd', x.mode = 0;
    else if (S_ISFIFO(st.st_mode))
      x.kind = 'p';
    else if (S_ISCHR(st.st_mode))
      x.kind = 'c';
    out[rel] = x;
  }
  return out;
}

bool complete(const std::string& ext, const std::string& s) {
  const auto ends = [&](const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  if (ext == ".json") return nlohmann::json::accept(s);
  if (ext == ".dot" || ext == ".gv") return s.rfind("digraph", 0) == 0 && ends("}\n");
  if (ext == ".svg") return ends("</svg>\n");
  if (ext == ".png") return s.size() > 12 && s.compare(s.size() - 8, 4, "IEND") == 0;
  return false;
}

// Drains a FIFO while a run writes to it: the test holds it open for writing too, so a read waits
// for data instead of seeing an end, and the run's open() finds a reader.
class FifoReader {
 public:
  explicit FifoReader(const fs::path& p) : fd_(::open(p.c_str(), O_RDWR | O_NONBLOCK)) {
    thread_ = std::thread([this] {
      char buf[65536];
      while (true) {
        pollfd pfd{fd_, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, 10);
        const ssize_t n = ready > 0 ? ::read(fd_, buf, sizeof buf) : 0;
        if (n > 0)
          data_.append(buf, std::size_t(n));
        else if (stop_)
          return;
      }
    });
  }
  std::string finish() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    return data_;
  }

 private:
  int fd_;
  std::atomic<bool> stop_{false};
  std::string data_;
  std::thread thread_;
};

struct Output {
  std::string option, path, ext;  // ext: what the option writes (.json, .dot, .svg)
};

}  // namespace

TEST_CASE("outputs: random combinations of options and paths keep the transaction rule",
          "[cli][outputs][fuzz]") {
  const bool graphviz = std::system("command -v dot >/dev/null 2>&1") == 0;
  const char* seed_env = std::getenv("GRADSCOPE_OUTPUT_FUZZ_SEED");
  const unsigned seed = seed_env ? unsigned(std::stoul(seed_env)) : 25u;
  std::mt19937 rng(seed);
  auto pick = [&](std::size_t n) { return std::size_t(rng() % n); };
  // Names with odd characters: spaces, quotes, a newline, a backslash, UTF-8 and a byte that is
  // not, a leading '-' (given as ./-x), shell and gnuplot syntax.
  const std::vector<std::string> stems = {"out",
                                          "a b",
                                          "q\"uote",
                                          "it's",
                                          "new\nline",
                                          "back\\slash",
                                          "caf\xc3\xa9",
                                          "bad\xff",
                                          "./-dash",
                                          "$(touch PWNED)",
                                          "x;system(\"touch PWNED\")"};
  int runs = 0, succeeded = 0;
  for (int round = 0; round < 120; ++round) {
    Sandbox box;
    const fs::path d = box.dir();
    box.write("in.csv", "x1,x2,label\n2,3,0\n7,6,1\n1,2,0\n8,5,1\n");
    box.write("old.json", "old");
    ::chmod((d / "old.json").c_str(), 0600);
    fs::create_symlink("old.json", d / "link.json");
    fs::create_symlink("missing/x.json", d / "dangling.json");
    fs::create_directory(d / "dir.json");
    fs::create_directory(d / "sub");
    ::mkfifo((d / "fifo.json").c_str(), 0600);
    const bool device = ::mknod((d / "null.json").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;

    auto random_path = [&](const std::string& ext) -> std::string {
      switch (pick(10)) {
        case 0:
          return "-";
        case 1:
          return "old.json";
        case 2:
          return "link.json";
        case 3:
          return pick(2) ? "dangling.json" : "dir.json";
        case 4:
          return "fifo.json";
        case 5:
          return device ? "null.json" : "out" + ext;
        case 6:
          return "nodir/out" + ext;
        case 7:
          return "in.csv";
        case 8:
          return "sub/" + stems[pick(stems.size())] + (pick(4) ? ext : ".txt");
        default:
          return (pick(2) ? "out" : stems[pick(stems.size())]) + (pick(4) ? ext : ".png");
      }
    };
    std::vector<Output> outs;
    // JSON may have any name, also one that the DOT's rendered images take.
    const char* json_names[] = {".json", ".json", ".svg", ".png", ".dot"};
    if (pick(4)) outs.push_back({"--json", random_path(json_names[pick(5)]), ".json"});
    if (pick(2)) outs.push_back({"--dot", random_path(".dot"), ".dot"});
    if (graphviz && pick(3) == 0) outs.push_back({"--svg", random_path(".svg"), ".svg"});
    if (outs.size() > 1 && pick(3) == 0)
      outs.back().path = "./" + outs.front().path;  // a collision
    std::string args = "demo";
    if (pick(2)) args += " --data in.csv";
    if (pick(5) == 0) args += " --collapse";
    // Each path through printf, so newlines and quotes reach the program as they are.
    auto quoted = [](const std::string& s) {
      std::string out = "\"$(printf '%s' '";
      for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      return out + "')\"";
    };
    for (const auto& o : outs) args += " " + o.option + " " + quoted(o.path);

    const auto before = tree(d);
    const bool to_fifo = std::any_of(outs.begin(), outs.end(), [](const Output& o) {
      return fs::path(o.path).lexically_normal() == "fifo.json";
    });
    std::unique_ptr<FifoReader> reader;
    if (to_fifo) reader = std::make_unique<FifoReader>(d / "fifo.json");
    const Result r = run(box, args);
    const std::string fifo_data = reader ? reader->finish() : "";
    ++runs;
    INFO("seed " << seed << ", round " << round << ": gradscope " << args << "\nexit " << r.code
                 << "\nstderr: " << r.err);
    REQUIRE((r.code == 0 || r.code == 2));
    const auto after = tree(d);
    CHECK(!fs::exists(d / "PWNED"));
    for (const auto& [name, e] : after)  // no temporary left, whatever happened
      CHECK(name.find(".gradscope-") == std::string::npos);
    if (r.code == 2) {
      CHECK(r.err.rfind("gradscope: error: ", 0) == 0);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
      CHECK(after == before);
      CHECK(fifo_data.empty());
      continue;
    }
    ++succeeded;
    // Exit 0: every output complete, and nothing changed but the outputs (and what they render).
    std::set<std::string> changed;
    auto expect_complete = [&](const std::string& path, const std::string& ext) {
      INFO("output " << path);
      const fs::path p = fs::path(path).lexically_normal();
      if (path == "-") {
        CHECK(complete(ext, r.out));
        return;
      }
      if (p == "fifo.json") {
        CHECK(complete(ext, fifo_data));
        return;
      }
      if (p == "null.json") {
        CHECK(fs::is_character_file(d / p));
        return;
      }
      const fs::path target =
          fs::is_symlink(d / p) ? fs::path(fs::read_symlink(d / p)) : p;  // written through
      changed.insert(target.string());
      REQUIRE(fs::is_regular_file(d / target));
      CHECK(complete(ext, slurp(d / target)));
      if (before.count(target.string()))  // an existing file keeps its mode
        CHECK(after.at(target.string()).mode == before.at(target.string()).mode);
    };
    for (const auto& o : outs) {
      expect_complete(o.path, o.ext);
      const bool renders_beside = o.option == "--dot" && o.path != "-" && graphviz &&
                                  std::none_of(outs.begin(), outs.end(),
                                               [](const Output& x) { return x.option == "--svg"; });
      if (renders_beside)
        for (const char* ext : {".svg", ".png"})
          expect_complete(fs::path(o.path).replace_extension(ext).string(), ext);
    }
    for (const auto& [name, e] : after)
      if (!changed.count(name)) {
        INFO("not an output: " << name);
        CHECK((before.count(name) && before.at(name) == e));
      }
  }
  INFO("seed " << seed << ": " << runs << " runs, " << succeeded << " succeeded");
  CHECK(succeeded > 5);  // both outcomes were exercised
  CHECK(runs - succeeded > 5);
}
