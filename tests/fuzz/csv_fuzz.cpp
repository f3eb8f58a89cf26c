// libFuzzer harness: arbitrary bytes as the CSV file given to `gradscope --data`.
//
// load_csv must either return a dataset that keeps its promises (at least one feature and one
// sample, x features x samples and y 1 x samples, every value finite, every label 0 or 1, a name
// per feature), or throw gradscope::Error with one printable line that starts with the file's
// path. Anything else (a crash, another exception, a broken promise) is a finding.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <gradscope/autodiff/error.hpp>
#include <gradscope/models/data.hpp>
#include <string>

namespace {

const std::string kPath = "fuzz_csv_input.csv";  // in the working directory

struct Counts {
  long accepted = 0, rejected = 0;
  ~Counts() {
    std::printf("fuzz_csv: %ld files accepted, %ld rejected with a one-line error\n", accepted,
                rejected);
  }
} counts;

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_csv: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::ofstream(kPath, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), std::streamsize(size));
  try {
    const auto d = gradscope::models::load_csv(kPath);
    const bool labels01 = ((d.y.array() == 0) || (d.y.array() == 1)).all();
    if (d.x.rows() < 1 || d.x.cols() < 1 || d.y.rows() != 1 || d.y.cols() != d.x.cols() ||
        !d.x.allFinite() || !labels01 || d.feature_names.size() != std::size_t(d.x.rows()))
      finding("accepted a dataset that breaks its promises",
              std::to_string(d.x.rows()) + "x" + std::to_string(d.x.cols()));
    ++counts.accepted;
  } catch (const gradscope::Error& e) {
    const std::string m = e.what();
    if (m.rfind(kPath, 0) != 0) finding("message does not start with the path", m);
    for (unsigned char c : m)
      if (c < 0x20 || c == 0x7f) finding("message is not one printable line", m);
    ++counts.rejected;
  }
  return 0;
}
