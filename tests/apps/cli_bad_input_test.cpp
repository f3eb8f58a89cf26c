// The gradscope command line given nonsense options. Every case must end with exactly one line on
// stderr ("gradscope: error: ..." naming what was wrong), exit code 2, and no output file (nor a
// temporary one) left behind. Malformed data files: cli_bad_data_test.cpp.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apps/cli_sandbox.hpp"
#include "apps/cli_usage_error.hpp"
#include "reliability/expect_error.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using gradscope::testing::expect_usage_error;
using gradscope::testing::Result;
using gradscope::testing::run;
using gradscope::testing::Sandbox;
using gradscope::testing::slurp;

TEST_CASE("cli: depth below 1", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --depth -3", "--depth must be at least 1, got -3");
  expect_usage_error(box, "demo --depth 0", "--depth must be at least 1, got 0");
}

TEST_CASE("cli: zero width", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --width 0", "--width must be at least 1, got 0");
}

TEST_CASE("cli: a number option given text", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --depth ten", "--depth");
  expect_usage_error(box, "demo --weight-scale abc", "--weight-scale");
}

TEST_CASE("cli: a non-finite weight scale", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --weight-scale nan", "--weight-scale nan: not a finite number");
}

TEST_CASE("cli: no samples", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --samples 0", "--samples must be at least 1, got 0");
}

TEST_CASE("cli: an unknown activation", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --act swish", "swish");
}

TEST_CASE("cli: an unknown architecture or normalisation", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --arch transformer", "--arch transformer: unknown architecture");
  expect_usage_error(box, "train --arch '' --iters 1", "expected one of mlp, residual");
  expect_usage_error(box, "demo --norm batch", "unknown normalisation 'batch'");
}

TEST_CASE("cli: a residual network without a block, layer norm of one unit", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --arch residual --depth 2", "depth 2; need at least 3");
  expect_usage_error(box, "demo --norm layer --width 1", "normalising needs at least 2");
}

TEST_CASE("cli: an unknown initialiser", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --init glorious", "glorious");
}

TEST_CASE("cli: a sweep over a bad grid or shard", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "sweep --acts relu,swish", "unknown activation 'swish'");
  expect_usage_error(box, "sweep --inits he,lecun", "unknown --inits 'lecun'");
  expect_usage_error(box, "sweep --depths ''", "--depths");
  expect_usage_error(box, "sweep --depths 10,-3", "--depths -3: each depth must be >= 3");
  expect_usage_error(box, "sweep --widths 0", "--widths 0: each width must be >= 1");
  expect_usage_error(box, "sweep --inits gaussian --sigma-w2 0", "--sigma-w2 0: must be finite and > 0");
  expect_usage_error(box, "sweep --inits gaussian --sigma-b2 -0.1", "--sigma-b2 -0.1: must be finite and >= 0");
  expect_usage_error(box, "sweep --repeats 0", "--repeats 0: must be >= 1");
  expect_usage_error(box, "sweep --shard 3/2", "--shard '3/2': expected I/N with 1 <= I <= N");
  expect_usage_error(box, "sweep --shard 1", "--shard '1'");
  expect_usage_error(box, "sweep --arch unknown", "--arch unknown: unknown architecture");
  expect_usage_error(box, "sweep --norm batch", "unknown normalisation 'batch'");
  expect_usage_error(box, "sweep --arch rnn --depths 1", "--depths 1: --arch rnn reads each depth");
  expect_usage_error(box, "sweep --arch rnn --acts relu", "--acts relu: --arch rnn takes tanh or");
  expect_usage_error(box, "sweep --arch lstm --norm layer", "--arch lstm has no normalisation");
  expect_usage_error(box, "sweep --arch rnn --rec-scale 0", "--rec-scale 0: must be finite and > 0");
  expect_usage_error(box, "sweep --arch rnn --rec-scale inf", "--rec-scale inf: not a finite");
  expect_usage_error(box, "sweep --arch rnn --rec-init zeros", "zeros");
  expect_usage_error(box, "sweep --arch rnn --inits he", "--inits does not apply to --arch rnn");
  expect_usage_error(box, "sweep --rec-scale 0.9", "--rec-scale does not apply to --arch mlp");
  expect_usage_error(box, "sweep --arch residual --spectrum", "--spectrum: the Jacobian is for");
}

TEST_CASE("cli: merging shards of different grids, or a file that is not a shard", "[cli][reliability]") {
  Sandbox box;
  const std::string grid = "sweep --depths 3,4 --widths 2 --repeats 1 --samples 2 --threads 1";
  REQUIRE(run(box, grid + " --seed 1 --shard 1/2 --json a.json").code == 0);
  REQUIRE(run(box, grid + " --seed 2 --shard 2/2 --json b.json").code == 0);
  box.write("c.json", "{\"command\": \"demo\"}");
  expect_usage_error(box, "merge a.json b.json", "a.json and b.json are shards of different grids");
  expect_usage_error(box, "merge a.json", "cell 1 of 2 is in none of the files");
  expect_usage_error(box, "merge a.json c.json", "c.json is not a sweep's JSON");
  expect_usage_error(box, "merge missing.json", "merge: missing.json: cannot open for reading");
  expect_usage_error(box, "merge /dev/zero", "merge: /dev/zero: byte 1 is NUL: not a JSON file");
}

TEST_CASE("cli: a stream that never ends given to merge", "[cli][reliability]") {
  gradscope::testing::expect_stream_stopped("yes 1", "merge /dev/stdin", "merge: /dev/stdin: ");
}

TEST_CASE("cli: a learning rate that is not a finite positive number", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "train --lr nan", "--lr nan: not a finite number");
  expect_usage_error(box, "train --lr -0.1", "--lr must be a finite number > 0, got -0.1");
  expect_usage_error(box, "train --lr 0", "--lr must be a finite number > 0, got 0");
  expect_usage_error(box, "train --lr inf", "--lr inf: not a finite number");
}

TEST_CASE("cli: negative iterations and history interval below 1", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "train --iters -5", "--iters must be at least 0, got -5");
  expect_usage_error(box, "train --history-every 0", "--history-every must be at least 1, got 0");
}

TEST_CASE("cli: an unknown optimiser", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "train --optimizer rmsprop", "rmsprop");
}

TEST_CASE("cli: data so large that training overflows", "[cli][reliability]") {
  // Every value is finite, but 1e300 times any weight overflows: the first non-finite loss stops
  // training with the iteration, instead of a table of NaNs.
  Sandbox box;
  box.write("in.csv", "x1,x2,label\n1e300,2,0\n3,1e300,1\n1,2,0\n");
  const Result r = run(box, "train --data in.csv --iters 10 --json out.json");
  // Progress lines come first on stderr; the error is the last line, and the only error.
  const auto last = r.err.rfind('\n', r.err.size() - 2);
  const std::string error = r.err.substr(last == std::string::npos ? 0 : last + 1);
  gradscope::testing::log_error_message("gradscope train --data in.csv (values 1e300) → " +
                                        error.substr(0, error.size() - 1));
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK_THAT(error, StartsWith("gradscope: error: ") && Contains("train: the loss became") &&
                        Contains("at iteration"));
  CHECK(r.err.find("gradscope: error") == r.err.size() - error.size());
  CHECK(box.files() == std::vector<std::string>{"in.csv"});
}

TEST_CASE("cli: numbers read strictly: no saturation, no octal, no exponent for a count",
          "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --seed -1", "--seed -1: out of range (0 to 18446744073709551615)");
  expect_usage_error(box, "demo --seed 18446744073709551616",
                     "--seed 18446744073709551616: out of range (0 to 18446744073709551615)");
  expect_usage_error(box, "demo --depth 18446744073709551616",
                     "--depth 18446744073709551616: out of range");
  expect_usage_error(box, "demo --depth 1e9", "--depth 1e9: not a whole number");
  expect_usage_error(box, "demo --width 0x10", "--width 0x10: not a whole number");
  expect_usage_error(box, "train --iters +5", "--iters +5: not a whole number");
  for (const char* bad : {"1e", "0x10", "1.5x", "''", "' 1'", "+1", "1,5", "infinity", "-nan"})
    expect_usage_error(box, std::string("demo --weight-scale ") + bad, "--weight-scale ");
  expect_usage_error(
      box, "demo --weight-scale 1e",
      "--weight-scale 1e: not a decimal number (e.g. --weight-scale 0.5 or --weight-scale 1e-3)");
  expect_usage_error(box, "demo --weight-scale 1e999", "--weight-scale 1e999: not a finite number");
  expect_usage_error(box, "demo --weight-scale 1e-400",
                     "--weight-scale 1e-400: too small for a double");
  expect_usage_error(box, "demo --mean0 2 0x3", "--mean0 0x3: not a decimal number");
  expect_usage_error(box, "train --lr 0x10", "--lr 0x10: not a decimal number");
  expect_usage_error(box, "compare --rtol 1e-3x", "--rtol 1e-3x: not a decimal number");
  expect_usage_error(box, "compare --fd-step inf", "--fd-step inf: not a finite number");
  const Result r = run(box, "demo --width 010 --json out.json");  // decimal ten, not octal eight
  REQUIRE(r.code == 0);
  CHECK(slurp(box.dir() / "out.json").find("\"width\": 10,") != std::string::npos);
}

TEST_CASE("cli: sizes beyond memory refused before allocating, naming the options",
          "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --width 4294967297",
                     "--depth 10 --width 4294967297: the weights alone would need 4.72 ZB, more "
                     "than the ");
  expect_usage_error(box, "demo --depth 1000000000",
                     "--depth 1000000000 --width 2: the weights alone would need 192 GB");
  expect_usage_error(box, "demo --samples 10000000000",
                     "--samples 10000000000: the data alone would need 960 GB");
  expect_usage_error(box, "train --samples 100000000 --iters 1",
                     "on 200000000 samples: one pass would need");
  expect_usage_error(box, "sweep --depths 1000000",
                     "sweep --arch mlp --depths 1000000 --widths 256 --samples 32: one pass would "
                     "need 2.82 TB, more than the ");
  expect_usage_error(box, "sweep --arch lstm --depths 30000 --widths 256 --samples 256",
                     "sweep --arch lstm --depths 30000 --widths 256 --samples 256: one pass would "
                     "need 1.24 TB");
  expect_usage_error(box, "sweep --depths 30,3000 --widths 256,20480 --threads 2",
                     "--depths 3000 --widths 20480 --samples 32: 2 such cells at once (--threads "
                     "2) would need ");
}

TEST_CASE("cli: out of memory is exit 2 naming what was being built", "[cli][reliability]") {
  // Under a 400 MB address-space limit the estimate lets a 4 x 2000 network through (256 MB of
  // weights, gradients and moments), but the pass needs more than the process has left.
  if (gradscope::testing::skipped_under_sanitizer()) return;
  Sandbox box;
  const Result r = run(box, "demo --width 2000 --depth 4 --json out.json", "ulimit -v 400000; ");
  gradscope::testing::log_error_message(
      "gradscope demo --width 2000 --depth 4, ulimit -v 400000 → " +
      r.err.substr(0, r.err.find('\n')));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, StartsWith("gradscope: error: out of memory while "));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(box.files().empty());

  // Wherever the limit falls (the pass, OpenBLAS's work buffers, the JSON document, the files), the
  // command ends in exit 0 with its file or exit 2 with one line and no file: never a signal.
  for (int limit = 600000; limit <= 1400000; limit += 100000) {
    Sandbox b;
    const Result q = run(b, "demo --width 2000 --depth 4 --json out.json",
                         "ulimit -v " + std::to_string(limit) + "; ");
    INFO("ulimit -v " << limit << ": exit " << q.code << ", " << q.err);
    CHECK((q.code == 0 || q.code == 2));
    if (q.code == 2) {
      CHECK_THAT(q.err, StartsWith("gradscope: error: out of memory while "));
      CHECK(b.files().empty());
    } else {
      CHECK(b.files().size() == 1);
    }
  }
}

TEST_CASE("cli: filesystem errors name the path", "[cli][reliability]") {
  Sandbox box;
  fs::create_symlink("loop", box.dir() / "loop");
  expect_usage_error(box, "demo --data loop", "loop: Too many levels of symbolic links");
  const std::string long_name(5000, 'a');
  const Result r = run(box, "demo --json " + long_name);
  CHECK(r.code == 2);
  CHECK(r.err == "gradscope: error: --json " + long_name + ": File name too long\n");
}

TEST_CASE("cli: demo refuses a pass that is not finite, naming where", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --weight-scale 1e308",
                     "demo: the pass is not finite (loss nan): first in the pre-activation z of "
                     "layer 1 (");
}

TEST_CASE("cli: an unknown option, subcommand, or a missing subcommand", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --deepness 3", "--deepness");
  expect_usage_error(
      box, "frobnicate",
      "unknown subcommand 'frobnicate' (expected demo, train, compare, sweep, merge, report)");
  expect_usage_error(box, "", "subcommand");
}

TEST_CASE("cli: recurrent architectures given bad steps, scales or activations",
          "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --arch rnn --steps 0", "--steps must be at least 2");
  expect_usage_error(box, "train --arch lstm --steps 1", "--steps must be at least 2");
  for (const char* scale : {"0", "-1"})
    expect_usage_error(box, std::string("demo --arch rnn --rec-scale ") + scale,
                       "--rec-scale must be a finite number > 0");
  for (const char* scale : {"nan", "inf"})
    expect_usage_error(box, std::string("demo --arch rnn --rec-scale ") + scale,
                       std::string("--rec-scale ") + scale + ": not a finite number");
  expect_usage_error(
      box, "demo --arch gru",
      "--arch gru: unknown architecture (expected one of mlp, residual, rnn or lstm)");
  expect_usage_error(box, "demo --arch lstm --norm layer",
                     "--norm layer: --arch lstm has no normalisation");
  expect_usage_error(box, "demo --arch rnn --rec-init unit",
                     "unknown recurrent initialiser 'unit'");
  expect_usage_error(box, "demo --arch rnn --act relu", "--act must be tanh or identity, got relu");
  expect_usage_error(box, "train --arch rnn --plot p.svg", "--plot draws the MLP's");
}

TEST_CASE("cli: a weight scale together with an initialiser", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --weight-scale 0.5 --init he", "excludes");
}

TEST_CASE("cli: a plot in an unknown format or of data without 2 features", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "train --plot surface.jpg",
                     "--plot surface.jpg: unknown format '.jpg' (use .svg or .png)");
  box.write("in.csv", "x1,x2,x3,label\n1,2,3,0\n4,5,6,1\n");
  expect_usage_error(box, "train --data in.csv --plot surface.svg",
                     "--plot surface.svg: the surface plot needs 2 features, the data has 3");
}

TEST_CASE("cli: an output file that cannot be written leaves nothing behind",
          "[cli][reliability]") {
  Sandbox box;
  const Result r = run(box, "demo --json no/such/dir/out.json");
  gradscope::testing::log_error_message("gradscope demo --json no/such/dir/out.json → " +
                                        r.err.substr(0, r.err.find('\n')));
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, StartsWith("gradscope: error: ") && Contains("no/such/dir/out.json"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(box.files().empty());
  // Checked before any work: a long training run fails at once, without a progress line.
  const Result t = run(box, "train --iters 50000 --json no/such/dir/out.json");
  CHECK(t.code == 2);
  CHECK(t.err == r.err);
}

TEST_CASE("cli: the same command with good input succeeds and writes its file",
          "[cli][reliability]") {
  // The counterpart of every case above: proves the harness can see success.
  Sandbox box;
  box.write("in.csv", "x1,x2,label\n2,3,0\n7,6,1\n1,2,0\n8,5,1\n");
  const Result r = run(box, "demo --data in.csv --json out.json");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(box.files() == std::vector<std::string>{"in.csv", "out.json"});
}
