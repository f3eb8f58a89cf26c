// The gradscope command line given malformed data files (--data). Every case must end with exactly
// one line on stderr ("gradscope: error: ..." naming what was wrong), exit code 2, and no output
// file (nor a temporary one) left behind. Nonsense options: cli_bad_input_test.cpp.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "apps/cli_sandbox.hpp"
#include "apps/cli_usage_error.hpp"

using namespace gradscope::testing;  // Sandbox, run, expect_usage_error, fs

namespace {

void expect_bad_csv(const std::string& content, const std::string& expected) {
  Sandbox box;
  box.write("in.csv", content);
  expect_usage_error(box, "demo --data in.csv", expected);
}

}  // namespace

TEST_CASE("cli: a missing data file", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --data missing.csv", "missing.csv: cannot open");
}

TEST_CASE("cli: a directory given as data file", "[cli][reliability]") {
  Sandbox box;
  fs::create_directory(box.dir() / "dir.csv");
  expect_usage_error(box, "demo --data dir.csv", "dir.csv: is a directory, not a CSV file");
}

TEST_CASE("cli: a device that never ends given as data file", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --data /dev/zero", "/dev/zero: byte 1 is NUL: not a CSV file");
  expect_bad_csv(std::string("x1,x2,label\n1,2,0\n", 18) + '\0' + "1,2,1\n",
                 "in.csv: byte 19 is NUL: not a CSV file");
}

TEST_CASE("cli: a stream of valid rows that never ends given as data file", "[cli][reliability]") {
  expect_stream_stopped("yes 1,2,0", "demo --data /dev/stdin", "--data /dev/stdin: ");
}

TEST_CASE("cli: an empty data file", "[cli][reliability]") {
  expect_bad_csv("", "in.csv: empty file");
}

TEST_CASE("cli: a data file with a header only", "[cli][reliability]") {
  expect_bad_csv("x1,x2,label\n", "in.csv: header but no data rows");
}

TEST_CASE("cli: ragged rows", "[cli][reliability]") {
  expect_bad_csv("x1,x2,label\n1,2,0\n3,1\n", "in.csv:3: 2 fields, expected 3");
  expect_bad_csv("x1,x2,label\n1,2,0\n3,1,1,1\n", "in.csv:3: 4 fields, expected 3");
}

TEST_CASE("cli: a value that is not a number", "[cli][reliability]") {
  expect_bad_csv("x1,x2,label\n1,two,0\n", "in.csv:2: column 2 ('x2'): 'two' is not a number");
  expect_bad_csv("x1,x2,label\n1,\"2\",0\n", "'\"2\"' is not a number");
  expect_bad_csv("x1,x2,label\n1,,0\n", "column 2 ('x2'): '' is not a number");
  // A control byte inside a field is quoted escaped, so the message stays one readable line.
  expect_bad_csv("x1,x2,label\n1,2\r3,0\n", "column 2 ('x2'): '2\\x0d3' is not a number");
  // Bytes of 0x80 and above that are not UTF-8 are escaped too; printable UTF-8 stays.
  expect_bad_csv("x1,x2,label\n1,\xff\xfe\x9b,0\n",
                 "column 2 ('x2'): '\\xff\\xfe\\x9b' is not a number");
  expect_bad_csv(
      "x1,x\xc3\xa9,label\n1,\xc2\x9b"
      "2,0\n",
      "column 2 ('x\xc3\xa9'): '\\xc2\\x9b2' is not a number");  // é; U+009B (CSI)
  expect_bad_csv("x1,x2,label\n1,0x10,0\n", "column 2 ('x2'): '0x10' is not a number");
  expect_bad_csv("x1,x2,label\n1,+2,0\n", "column 2 ('x2'): '+2' is not a number");
}

TEST_CASE("cli: a data file's path is quoted escaped", "[cli][reliability]") {
  Sandbox box;
  expect_usage_error(box, "demo --data \"$(printf 'in\\377\\nx.csv')\"",
                     "in\\xff\\x0ax.csv: cannot open for reading");
}

TEST_CASE("cli: a missing label column", "[cli][reliability]") {
  expect_bad_csv("x1,x2\n0.5,2.5\n", "in.csv:2: column 2 ('x2'): label '2.5' must be 0 or 1");
  expect_bad_csv("label\n1\n", "in.csv:1: header has 1 column");
}

TEST_CASE("cli: labels other than 0 and 1", "[cli][reliability]") {
  expect_bad_csv("x1,x2,label\n1,2,2\n", "label '2' must be 0 or 1");
  expect_bad_csv("x1,x2,label\n1,2,-1\n", "label '-1' must be 0 or 1");
  expect_bad_csv("x1,x2,label\n1,2,0.5\n", "label '0.5' must be 0 or 1");
  expect_bad_csv("x1,x2,label\n1,2,yes\n", "'yes' is not a number");
}

TEST_CASE("cli: NaN, infinite and overflowing values", "[cli][reliability]") {
  expect_bad_csv("x1,x2,label\nnan,2,0\n", "column 1 ('x1'): 'nan' is not a finite number");
  expect_bad_csv("x1,x2,label\n1,-inf,0\n", "'-inf' is not a finite number");
  expect_bad_csv("x1,x2,label\n1,1e999,0\n", "'1e999' is not a finite number");
  expect_bad_csv("x1,x2,label\n1,2,nan\n", "'nan' is not a finite number");
  expect_bad_csv("x1,x2,label\n1,1e-400,0\n",
                 "column 2 ('x2'): '1e-400' is too small for a double (below 4.9e-324; write 0");
}

TEST_CASE("cli: subnormal values and old Mac line ends are read", "[cli][reliability]") {
  Sandbox box;
  box.write("sub.csv", "x1,x2,label\n1e-320,3,0\n7,-4.9e-324,1\n");
  box.write("cr.csv", "x1,x2,label\r2,3,0\r\r7,6,1\r");
  for (const char* file : {"sub.csv", "cr.csv"}) {
    const Result r = run(box, std::string("demo --data ") + file + " --json out.json");
    INFO(file << ": " << r.err);
    CHECK(r.code == 0);
    CHECK(slurp(box.dir() / "out.json").find("\"samples\": 2,") != std::string::npos);
  }
}

TEST_CASE("cli: binary noise", "[cli][reliability]") {
  std::string noise = "x1,x2,label\n";
  for (int i = 0; i < 256; ++i) noise += char((i * 73 + 41) & 0xff);
  noise += '\n';
  Sandbox box;
  box.write("in.csv", noise);
  expect_usage_error(box, "demo --data in.csv", "in.csv:");
}
