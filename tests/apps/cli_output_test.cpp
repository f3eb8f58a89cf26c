// The gradscope command line's output files: one transaction per command. Exit 0 with every output
// complete, or exit 2 with no file changed; only regular files are replaced; temporaries are unique
// and never left behind, not even by an interrupt; no path becomes code in a renderer.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "apps/cli_sandbox.hpp"
#include "reliability/expect_error.hpp"

using namespace gradscope::testing;  // Sandbox, run, Result, slurp, log_error_message
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

bool have(const char* program) {
  return std::system((std::string("command -v ") + program + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs args in box (after `shell`), expects exit 2 and the one-line error containing expected,
// and every file of the box unchanged (names and contents).
// The box's files and the contents of its regular ones (a FIFO is not read: that would block).
std::vector<std::pair<std::string, std::string>> snapshot(const Sandbox& box) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& f : box.files())
    files.emplace_back(f, fs::is_regular_file(box.dir() / f) ? slurp(box.dir() / f) : "");
  return files;
}

void expect_refused(const Sandbox& box, const std::string& args, const std::string& expected,
                    const std::string& shell = "") {
  const auto before = snapshot(box);
  const Result r = run(box, args, shell);
  log_error_message("gradscope " + args + " → " +
                                        r.err.substr(r.err.rfind("gradscope: error")));
  INFO("gradscope " << args << "\nstderr: " << r.err);
  CHECK(r.code == 2);
  // train's progress lines may come first: the error is the last line, and the only error.
  const auto start = r.err.rfind('\n', r.err.size() - 2);
  const std::string last = r.err.substr(start == std::string::npos ? 0 : start + 1);
  CHECK_THAT(last, StartsWith("gradscope: error: ") && Contains(expected));
  CHECK(r.err.find("gradscope: error: ") == r.err.size() - last.size());
  CHECK(snapshot(box) == before);
}

// A fake renderer named `name` in box/bin, running `script` (sh).
std::string fake_program(const Sandbox& box, const std::string& name, const std::string& script) {
  fs::create_directories(box.dir() / "bin");
  box.write("bin/" + name, "#!/bin/sh\n" + script + "\n");
  fs::permissions(box.dir() / "bin" / name, fs::perms::owner_all);
  return "PATH='" + (box.dir() / "bin").string() + ":/usr/bin:/bin' ";
}

// A 256 KB tmpfs at dir, filled by fill(); it can be mounted only by root (or with CAP_SYS_ADMIN).
// Unmounted before the sandbox is removed.
struct FullDisk {
  fs::path dir;
  bool mounted = false;
  explicit FullDisk(fs::path d) : dir(std::move(d)) {
    fs::create_directory(dir);
    mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=256k,mode=0755") == 0;
  }
  ~FullDisk() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
  // Fills the disk, then frees `leave` bytes.
  void fill(off_t leave) const {
    const int fd = ::open((dir / "filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    const std::string block(4096, 'x');
    while (::write(fd, block.data(), block.size()) > 0) continue;
    const std::string byte(1, 'x');  // the last partial page
    while (::write(fd, byte.data(), 1) > 0) continue;
    const off_t size = ::lseek(fd, 0, SEEK_END);
    REQUIRE(::ftruncate(fd, std::max<off_t>(0, size - leave)) == 0);
    ::close(fd);
  }
  std::vector<std::pair<std::string, std::string>> files() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      out.emplace_back(e.path().string(), e.is_regular_file() ? slurp(e.path()) : "");
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace

TEST_CASE("outputs: a full disk is exit 2 and keeps the old files", "[cli][outputs]") {
  Sandbox box;
  const FullDisk disk(box.dir() / "disk");
  if (!disk.mounted) {
    WARN("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): the full-disk case is skipped");
    return;
  }
  fs::create_directory(disk.dir / "tmp");
  box.write("disk/out.json", "old json");
  box.write("disk/g.svg", "old svg");
  box.write("disk/p.png", "old png");
  const std::string tmp_on_disk = "TMPDIR='" + (disk.dir / "tmp").string() + "' ";
  struct Case {
    std::string args, env;
    off_t leave;  // bytes left free
    std::string expected, shown;
  };
  std::vector<Case> cases = {
      {"demo --json disk/out.json", "", 0, "--json disk/out.json: No space left on device", ""},
      {"demo --json disk/out.json --svg disk/g.svg", "", 0, "No space left on device", ""},
      // The renderer works on the full disk: its input (31 KB of DOT) fits, the SVG (108 KB) not.
      {"demo --json disk/out.json --svg disk/g.svg", tmp_on_disk, 48 << 10, "--svg disk/g.svg",
       ", TMPDIR on a disk with 48 KB free"},
      {"demo --json disk/out.json --svg disk/g.svg", tmp_on_disk, 0, "--svg disk/g.svg",
       ", TMPDIR on the full disk"},
  };
  if (have("gnuplot")) {
    cases.push_back(
        {"train --iters 5 --samples 5 --plot disk/p.png", "", 0, "No space left on device", ""});
    // gnuplot gets its script (43 KB) but cannot write the PNG (250 KB).
    cases.push_back({"train --iters 5 --samples 5 --plot disk/p.png", tmp_on_disk, 64 << 10,
                     "--plot disk/p.png", ", TMPDIR on a disk with 64 KB free"});
  }
  for (const auto& c : cases) {
    disk.fill(c.leave);
    const auto before = disk.files();
    const Result r = run(box, c.args, c.env);
    log_error_message("gradscope " + c.args + c.shown + " → " +
                      r.err.substr(r.err.rfind("gradscope: error")));
    INFO(c.env << "gradscope " << c.args << "\nstderr: " << r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Contains("gradscope: error: ") && Contains(c.expected));
    CHECK(disk.files() == before);  // old files whole, no temporary left
  }
  CHECK(slurp(disk.dir / "out.json") == "old json");
  CHECK(slurp(disk.dir / "p.png") == "old png");
}

TEST_CASE("outputs: collisions between input and outputs refused before any work",
          "[cli][outputs]") {
  Sandbox box;
  box.write("in.csv", "x1,x2,label\n2,3,0\n7,6,1\n");
  expect_refused(box, "demo --data in.csv --json in.csv",
                 "--json in.csv: is the input file given to --data; it would be replaced");
  expect_refused(box, "demo --json a.json --dot a.dot --svg ./a.json",
                 "--svg ./a.json: unknown extension '.json'");
  expect_refused(box, "demo --json same.dot --dot ./same.dot",
                 "--dot ./same.dot: is the same file as --json same.dot; one would replace the other");
  fs::create_symlink("in.csv", box.dir() / "link.csv");  // another name of the input
  expect_refused(box, "demo --data in.csv --json link.csv", "--json link.csv: is the input file");
  expect_refused(box, "demo --dot g.png", "--dot g.png: unknown extension '.png' (use .dot or .gv)");
  expect_refused(box, "demo --dot g.dot --svg g.txt --json out.json",
                 "--svg g.txt: unknown extension '.txt' (use .svg)");
  if (have("dot")) {
    expect_refused(box, "demo --json g.png --dot g.dot",
                   "--dot g.dot renders g.png: is the same file as --json g.png");
    expect_refused(box, "train --iters 5 --plot run1.svg --dot run1.dot",
                   "--plot run1.svg: is the same file as --dot run1.dot renders run1.svg");
  }
  expect_refused(box, "train --iters 5 --plot p.svg --json p.gp",
                 "--plot p.svg writes its script p.gp: is the same file as --json p.gp");
}

TEST_CASE("outputs: a device or FIFO is written in place, a link through, a mode kept, a new "
          "file's mode set by the umask",
          "[cli][outputs]") {
  Sandbox box;
  const fs::path dev = box.dir() / "mynull";
  if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {  // a private /dev/null
    const Result r = run(box, "demo --json mynull");
    CHECK(r.code == 0);
    CHECK(fs::is_character_file(dev));
  } else {
    WARN("mknod not permitted here: the device case is skipped");
  }
  const fs::path fifo = box.dir() / "pipe.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string reader = "cd '" + box.dir().string() + "' && ('" GRADSCOPE_CLI
                             "' demo --json pipe.json >/dev/null & cat pipe.json > copy.json; wait)";
  CHECK(std::system(reader.c_str()) == 0);
  CHECK(fs::is_fifo(fifo));
  CHECK(nlohmann::json::parse(slurp(box.dir() / "copy.json"))["command"] == "demo");

  box.write("target.json", "old");
  fs::create_symlink("target.json", box.dir() / "link.json");
  fs::permissions(box.dir() / "target.json", fs::perms::owner_read | fs::perms::owner_write);
  REQUIRE(run(box, "demo --json link.json").code == 0);
  CHECK(fs::is_symlink(box.dir() / "link.json"));
  CHECK(nlohmann::json::parse(slurp(box.dir() / "target.json"))["command"] == "demo");
  CHECK(fs::status(box.dir() / "target.json").permissions() ==
        (fs::perms::owner_read | fs::perms::owner_write));  // 600 stays 600
  REQUIRE(run(box, "demo --json new.json", "umask 037; ").code == 0);
  CHECK(fs::status(box.dir() / "new.json").permissions() == fs::perms(0640));  // as open makes it
  fs::create_symlink("nowhere/x.json", box.dir() / "dangling.json");
  expect_refused(box, "demo --json dangling.json",
                 "--json dangling.json: is a symbolic link to a file that does not exist");
  fs::create_directory(box.dir() / "dir.json");
  expect_refused(box, "demo --json dir.json", "--json dir.json: is a directory");
}

TEST_CASE("outputs: concurrent runs never share a temporary", "[cli][outputs]") {
  Sandbox box;
  box.write("out.json.tmp", "mine");  // a user's file of the old temporary's name
  std::string cmd;
  for (int i = 0; i < 4; ++i)
    cmd += "'" GRADSCOPE_CLI "' demo --seed " + std::to_string(i) +
           " --json out.json >/dev/null 2>err" + std::to_string(i) + " & ";
  const std::string script = "cd '" + box.dir().string() + "' && { " + cmd + "wait; }";
  REQUIRE(std::system(script.c_str()) == 0);
  for (int i = 0; i < 4; ++i) CHECK(slurp(box.dir() / ("err" + std::to_string(i))).empty());
  const auto doc = nlohmann::json::parse(slurp(box.dir() / "out.json"));  // one run's, whole
  CHECK(doc["config"]["seed"].get<int>() < 4);
  CHECK(slurp(box.dir() / "out.json.tmp") == "mine");
  CHECK(box.files() == std::vector<std::string>{"err0", "err1", "err2", "err3", "out.json",
                                                "out.json.tmp"});
}

TEST_CASE("outputs: a path never becomes code in the gnuplot script", "[cli][outputs]") {
  if (!have("gnuplot")) {
    WARN("gnuplot not on PATH: skipped");
    return;
  }
  Sandbox box;
  const std::string path = "x\nsystem(\"touch PWNED\")\n.svg";
  const Result r = run(box, "train --iters 5 --samples 5 --plot \"$(printf '" + path + "')\"");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(!fs::exists(box.dir() / "PWNED"));
  std::string gp;
  for (const auto& f : box.files())
    if (f.size() > 3 && f.substr(f.size() - 3) == ".gp") gp = f;
  REQUIRE(!gp.empty());
  // The saved script, re-run as its comment says, writes its image beside it and runs nothing.
  const std::string rerun = "cd '" + box.dir().string() + "' && gnuplot \"$(printf '" +
                            path.substr(0, path.size() - 4) + ".gp')\" 2>/dev/null";
  CHECK(std::system(rerun.c_str()) == 0);
  CHECK(!fs::exists(box.dir() / "PWNED"));
}

TEST_CASE("outputs: a renderer's file is checked, not only its exit status", "[cli][outputs]") {
  Sandbox box;
  box.write("g.svg", "previous");
  // Exits 0 but writes half an SVG, as Graphviz does on a full disk.
  const std::string path = fake_program(box, "dot", "printf '<svg><g>' > graph.svg");
  expect_refused(box, "demo --svg g.svg --json out.json",
                 "--svg g.svg: the svg file it wrote is cut short (no closing </svg>)", path);
  const std::string failing = fake_program(box, "dot", "echo 'Error: disk full' >&2; exit 3");
  expect_refused(box, "demo --svg g.svg --json out.json",
                 "failed (exit status 3): Error: disk full", failing);
  if (!have("gnuplot")) return;
  const std::string png = fake_program(box, "gnuplot", "printf '\\211PNG' > plot.png");
  expect_refused(box, "train --iters 5 --samples 5 --plot p.png",
                 "--plot p.png: gnuplot: the png file it wrote is cut short (no IEND chunk", png);
}

TEST_CASE("outputs: an interrupt during rendering leaves no temporary and no renderer",
          "[cli][outputs]") {
  for (const int sig : {SIGINT, SIGTERM}) {
    INFO("signal " << sig);
    Sandbox box;
    fs::create_directory(box.dir() / "tmp");
    box.write("g.svg", "previous");
    // The fake renderer records its pid, prints to its standard output, writes part of its file,
    // then waits to be killed.
    const std::string path = fake_program(
        box, "dot", "echo $$ > \"" + box.dir().string() + "/renderer.pid\"; echo RENDERER-OUTPUT; "
                    "printf '<svg>' > graph.svg; exec sleep 600");
    const std::string cmd = "cd '" + box.dir().string() + "' && TMPDIR='" +
                            (box.dir() / "tmp").string() + "' " + path + "exec '" GRADSCOPE_CLI
                            "' demo --svg g.svg --json out.json >out.txt 2>err.txt";
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    while (slurp(box.dir() / "renderer.pid").empty()) {  // until the renderer runs
      int early = 0;
      REQUIRE(::waitpid(child, &early, WNOHANG) == 0);  // gradscope must not have ended before
      std::this_thread::yield();
    }
    const pid_t renderer = std::stoi(slurp(box.dir() / "renderer.pid"));
    ::kill(child, sig);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == sig);
    CHECK(::kill(renderer, 0) != 0);  // killed and reaped
    CHECK(fs::is_empty(box.dir() / "tmp"));  // its private directory removed
    CHECK(slurp(box.dir() / "g.svg") == "previous");
    CHECK(slurp(box.dir() / "out.txt").find("RENDERER-OUTPUT") == std::string::npos);
    CHECK(box.files() == std::vector<std::string>{"bin", "err.txt", "g.svg", "out.txt",
                                                  "renderer.pid", "tmp"});
  }
}

TEST_CASE("outputs: a reader that leaves the pipe drops the report, not the files",
          "[cli][outputs]") {
  Sandbox box;
  // The pipe's reading end is closed before the program starts, so its first write fails (EPIPE).
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[0]);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    if (::chdir(box.dir().c_str()) != 0) ::_exit(126);
    ::execl(GRADSCOPE_CLI, GRADSCOPE_CLI, "demo", "--json", "out.json", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(nlohmann::json::parse(slurp(box.dir() / "out.json"))["command"] == "demo");
  // As a user writes it.
  const std::string cmd = "cd '" + box.dir().string() + "' && bash -c \"'" GRADSCOPE_CLI
                          "' demo --json head.json | head -1 >/dev/null; exit \\${PIPESTATUS[0]}\"";
  CHECK(std::system(cmd.c_str()) == 0);
  CHECK(nlohmann::json::parse(slurp(box.dir() / "head.json"))["command"] == "demo");
}

// Its shards merge into the unsharded file, and not with another architecture's.
TEST_CASE("outputs: sweep --arch names each cell's architecture and theory", "[cli][outputs]") {
  Sandbox box;
  const std::string grid =
      "sweep --arch rnn --acts identity --rec-scale 0.9 --depths 5,6 --widths 4 --repeats 1 "
      "--samples 2";
  REQUIRE(run(box, grid + " --threads 2 --json whole.json --csv whole.csv").code == 0);
  const auto doc = nlohmann::json::parse(slurp(box.dir() / "whole.json"));
  CHECK(doc["grid"]["arch"] == "rnn");
  REQUIRE(doc["cells"].size() == 2);
  for (const auto& c : doc["cells"]) {
    CHECK(c["arch"] == "rnn");
    CHECK(c["norm"] == "none");
    CHECK(c["theory"] == "pascanu bound");
    CHECK(c["gain"].get<double>() == Approx(0.9).epsilon(1e-9));
    CHECK(c["gain_theory"].get<double>() == Approx(0.9).epsilon(1e-9));
    CHECK(c["verdict"].is_string());
  }
  CHECK_THAT(slurp(box.dir() / "whole.csv"), StartsWith("index,arch,norm,act,init,depth,width"));
  REQUIRE(run(box, grid + " --threads 1 --shard 1/2 --json a.json").code == 0);
  REQUIRE(run(box, grid + " --threads 1 --shard 2/2 --json b.json").code == 0);
  REQUIRE(run(box, "merge b.json a.json --json merged.json").code == 0);
  CHECK(slurp(box.dir() / "merged.json") == slurp(box.dir() / "whole.json"));
  // With --csv -, standard output is the CSV alone; the table goes to standard error.
  const Result csv = run(box, "merge b.json a.json --csv -");
  REQUIRE(csv.code == 0);
  CHECK(csv.out == slurp(box.dir() / "whole.csv"));
  // The architecture is part of the grid: an mlp shard does not merge with an rnn one.
  REQUIRE(run(box, "sweep --depths 5,6 --widths 4 --repeats 1 --samples 2 --shard 2/2 --json m.json")
              .code == 0);
  const Result r = run(box, "merge a.json m.json --json x.json");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("a.json and m.json are shards of different grids"));
}
