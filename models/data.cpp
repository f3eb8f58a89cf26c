#include "gradscope/models/data.hpp"

#include <Eigen/Cholesky>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gradscope/autodiff/error.hpp"
#include "gradscope/models/random.hpp"
#include "gradscope/writers/atomic_file.hpp"
#include "gradscope/writers/printable.hpp"

namespace gradscope::models {

Dataset two_gaussians(const TwoGaussians& s) {
  const Eigen::Index d = s.mean0.size();
  if (d < 1 || s.mean1.size() != d)
    fail("two_gaussians: means have {} and {} components; need the same number, at least 1",
         s.mean0.size(), s.mean1.size());
  if (s.sigma.rows() != d || s.sigma.cols() != d)
    fail("two_gaussians: covariance is {}x{}, expected {}x{}", s.sigma.rows(), s.sigma.cols(), d,
         d);
  if (s.per_class < 1) fail("two_gaussians: {} points per class; need at least 1", s.per_class);
  if (!s.mean0.allFinite() || !s.mean1.allFinite() || !s.sigma.allFinite())
    fail("two_gaussians: means and covariance must be finite");
  const Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt(s.sigma);
  if (llt.info() != Eigen::Success)
    fail("two_gaussians: the covariance's lower triangle is not positive definite");
  const Eigen::MatrixXd r = llt.matrixL();

  Dataset data;
  data.x.resize(d, 2 * s.per_class);
  data.y.resize(1, 2 * s.per_class);
  Rng rng(s.seed);
  Eigen::RowVectorXd z(d);
  for (int cls = 0; cls < 2; ++cls) {
    const Eigen::VectorXd& mean = cls ? s.mean1 : s.mean0;
    for (Eigen::Index i = 0; i < s.per_class; ++i) {
      for (Eigen::Index k = 0; k < d; ++k) z(k) = rng.normal();
      const Eigen::Index col = cls * s.per_class + i;
      data.x.col(col) = (z * r).transpose() + mean;
      data.y(0, col) = cls;
    }
  }
  for (Eigen::Index k = 0; k < d; ++k) data.feature_names.push_back(fmt::format("x{}", k + 1));
  return data;
}

Dataset gaussian_classes(const GaussianClasses& s) {
  const auto k = Eigen::Index(s.means.size());
  if (k < 2) fail("gaussian_classes: {} class means; need at least 2", k);
  const Eigen::Index d = s.means[0].size();
  for (const auto& m : s.means)
    if (m.size() != d || d < 1 || !m.allFinite())
      fail("gaussian_classes: every mean needs the same number (at least 1) of finite components");
  if (s.per_class < 1) fail("gaussian_classes: {} points per class; need at least 1", s.per_class);
  if (!std::isfinite(s.stddev) || s.stddev < 0)
    fail("gaussian_classes: standard deviation {}; need a finite number >= 0", s.stddev);
  Dataset data;
  data.x.resize(d, k * s.per_class);
  data.y.resize(1, k * s.per_class);
  Rng rng(s.seed);
  for (Eigen::Index cls = 0; cls < k; ++cls)
    for (Eigen::Index i = 0; i < s.per_class; ++i) {
      const Eigen::Index col = cls * s.per_class + i;
      for (Eigen::Index f = 0; f < d; ++f) data.x(f, col) = s.means[cls](f) + s.stddev * rng.normal();
      data.y(0, col) = double(cls);
    }
  for (Eigen::Index f = 0; f < d; ++f) data.feature_names.push_back(fmt::format("x{}", f + 1));
  return data;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Text from the file as an error message quotes it: escaped (printable_path) so that the message
// stays one readable line, and long text cut to 40 bytes.
std::string printable(std::string_view s) {
  return s.size() > 40 ? printable_path(s.substr(0, 40)) + "..." : printable_path(s);
}

// The line's comma-separated fields, trimmed, into fields (reused from line to line).
void split(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  for (;;) {
    const auto comma = line.find(',');
    fields.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    line.remove_prefix(comma + 1);
  }
}

}  // namespace

Decimal parse_decimal(std::string_view text) {
  Decimal d;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, d.value);
  if (ptr != end || text.empty() || ec == std::errc::invalid_argument) return d;
  d.status = Decimal::Ok;
  if (ec == std::errc::result_out_of_range) {  // beyond double's range, or below its subnormals
    const bool large = std::isinf(std::strtod(std::string(text).c_str(), nullptr));
    if (!large) d.status = Decimal::TooSmall;
    d.value = !large ? 0 : text[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  }
  return d;
}

namespace {

// A text file read in blocks, each refused at its first NUL byte, with progress reported after
// each.
class TextReader {
 public:
  TextReader(const std::string& path, const char* kind, const ReadProgress& progress)
      : file_(printable_path(path)), kind_(kind), progress_(progress) {
    // A directory opens as a stream that reads nothing: it would pass for an empty file.
    if (std::filesystem::is_directory(path)) fail("{}: is a directory, not {}", file_, kind);
    in_.open(path, std::ios::binary);
    if (!in_) fail("{}: cannot open for reading", file_);
    std::error_code error;
    if (std::filesystem::is_regular_file(path, error))
      size_ = std::size_t(std::filesystem::file_size(path, error));
  }

  // Appends the next block to text; false once the file has ended. also_held: the bytes the
  // caller holds besides text, for the progress report.
  bool read(std::string& text, std::size_t also_held = 0) {
    char block[1 << 16];
    in_.read(block, sizeof block);
    const std::string_view got(block, std::size_t(in_.gcount()));
    if (in_.bad()) fail("{}: read error", file_);
    if (const auto nul = got.find('\0'); nul != std::string_view::npos)
      fail("{}: byte {} is NUL: not {}", file_, read_ + nul + 1, kind_);
    text.append(got);
    read_ += got.size();
    // What is held grows by doubling: its next growth needs the new and the old buffers at once.
    if (progress_) progress_({read_, size_, 3 * (text.capacity() + also_held)});
    return !got.empty();
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;  // as messages show it
  const char* kind_;
  const ReadProgress& progress_;
  std::ifstream in_;
  std::size_t read_ = 0, size_ = 0;
};

// The lines of a CSV file, read block by block. Lines end at "\n" (a "\r" before it is dropped
// by trim), or at "\r" alone when that is how the first line ends (old Mac files); a "\r" inside a
// line of the first kind stays, and is reported as part of its field.
class CsvLines {
 public:
  CsvLines(const std::string& path, const ReadProgress& progress)
      : reader_(path, "a CSV file", progress) {}

  // The next line without its end, valid until the next call; false after the last line.
  // values_held: the bytes of values the caller holds, for the progress report.
  bool next(std::string_view& line, std::size_t values_held) {
    for (;;) {
      if (!end_) {  // from the first line end, once the byte after it is read
        const auto at = text_.find_first_of("\r\n", searched_);
        if (at != std::string::npos && (at + 1 < text_.size() || !more_))
          end_ = text_[at] == '\r' && text_.compare(at + 1, 1, "\n") != 0 ? '\r' : '\n';
      }
      if (end_) {
        if (const auto at = text_.find(end_, searched_); at != std::string::npos) {
          line = std::string_view(text_).substr(start_, at - start_);
          start_ = searched_ = at + 1;
          ++number_;
          return true;
        }
      }
      if (!more_) {
        if (start_ == text_.size()) return false;
        line = std::string_view(text_).substr(start_);
        start_ = searched_ = text_.size();
        ++number_;
        return true;
      }
      // No line end after start_ yet: keep the unfinished line, read on from where it stops.
      text_.erase(0, start_);
      searched_ = text_.size() - (end_ ? 0 : std::min<std::size_t>(text_.size(), 1));
      start_ = 0;
      more_ = reader_.read(text_, values_held);
    }
  }

  const std::string& file() const { return reader_.file(); }
  std::size_t line_number() const { return number_; }  // of the line next returned last

 private:
  TextReader reader_;
  std::string text_;  // read, from the start of the line next returns next
  std::size_t start_ = 0, searched_ = 0, number_ = 0;
  char end_ = 0;  // what ends a line, once known
  bool more_ = true;
};

}  // namespace

std::string read_text_file(const std::string& path, const char* kind,
                           const ReadProgress& progress) {
  TextReader reader(path, kind, progress);
  std::string text;
  while (reader.read(text)) {
  }
  return text;
}

Dataset load_csv(const std::string& path, const ReadProgress& progress) {
  CsvLines lines(path, progress);
  const std::string& file = lines.file();
  std::string_view line;
  std::vector<std::string_view> fields;
  std::vector<std::string> header;
  while (header.empty() && lines.next(line, 0)) {
    if (trim(line).empty()) continue;
    split(line, fields);
    header.assign(fields.begin(), fields.end());
  }
  if (header.empty())
    fail("{}: empty file; expected a header row, then rows of features and a 0/1 label", file);
  if (header.size() < 2)
    fail("{}:{}: header has {} column; need at least one feature column and a label column", file,
         lines.line_number(), header.size());
  for (std::size_t c = 0; c < header.size(); ++c)
    if (header[c].empty())
      fail("{}:{}: column {} of the header has no name", file, lines.line_number(), c + 1);

  const std::size_t cols = header.size();
  // Rows go straight into the Dataset's columns, whose capacity doubles when full. Eigen resizes a
  // matrix's columns in place with realloc, which moves a large block by remapping its pages
  // rather than copying them; the surplus columns are cut off at the end the same way.
  Dataset data;
  const auto features = Eigen::Index(cols - 1);
  Eigen::Index rows = 0, capacity = 1024;
  data.x.resize(features, capacity);
  data.y.resize(1, capacity);
  const auto held = [&] { return std::size_t(capacity) * cols * sizeof(double); };
  while (lines.next(line, held())) {
    if (trim(line).empty()) continue;
    split(line, fields);
    const std::size_t line_no = lines.line_number();
    if (fields.size() != cols)
      fail("{}:{}: {} fields, expected {} (as in the header)", file, line_no, fields.size(), cols);
    for (std::size_t c = 0; c < cols; ++c) {
      const Decimal d = parse_decimal(fields[c]);
      const auto bad = [&](const char* what) {
        fail("{}:{}: column {} ('{}'): '{}' {}", file, line_no, c + 1, printable(header[c]),
             printable(fields[c]), what);
      };
      if (d.status == Decimal::NotANumber) bad("is not a number");
      if (d.status == Decimal::TooSmall)
        bad("is too small for a double (below 4.9e-324; write 0 for zero)");
      if (!std::isfinite(d.value)) bad("is not a finite number");
      if (c + 1 == cols && d.value != 0 && d.value != 1)
        fail("{}:{}: column {} ('{}'): label '{}' must be 0 or 1", file, line_no, c + 1,
             printable(header[c]), printable(fields[c]));
      (c + 1 < cols ? data.x(Eigen::Index(c), rows) : data.y(0, rows)) = d.value;
    }
    if (++rows == capacity) {
      capacity *= 2;
      data.x.conservativeResize(features, capacity);
      data.y.conservativeResize(1, capacity);
    }
  }
  if (rows == 0) fail("{}: header but no data rows", file);
  data.x.conservativeResize(features, rows);
  data.y.conservativeResize(1, rows);
  data.feature_names.assign(header.begin(), header.end() - 1);
  return data;
}

void save_csv(const Dataset& data, const std::string& path) {
  if (data.y.rows() != 1 || data.y.cols() != data.x.cols())
    fail("save_csv: x is {}x{} but y is {}x{}; need 1 x samples", data.x.rows(), data.x.cols(),
         data.y.rows(), data.y.cols());
  std::ostringstream out;
  for (Eigen::Index k = 0; k < data.x.rows(); ++k)
    out << (k < Eigen::Index(data.feature_names.size()) ? data.feature_names[k]
                                                        : fmt::format("x{}", k + 1))
        << ',';
  out << "label\n";
  for (Eigen::Index i = 0; i < data.x.cols(); ++i) {
    for (Eigen::Index k = 0; k < data.x.rows(); ++k) out << fmt::format("{:.17g},", data.x(k, i));
    out << (data.y(0, i) != 0 ? 1 : 0) << '\n';
  }
  write_file_atomically(path, out.str());
}

Sequences adding_problem(Eigen::Index steps, Eigen::Index samples, std::uint64_t seed) {
  if (steps < 2 || samples < 1)
    fail("adding_problem: {} steps, {} samples; need at least 2 steps and 1 sample", steps, samples);
  Rng rng(seed);
  Sequences s;
  s.x.assign(std::size_t(steps), Eigen::MatrixXd::Zero(2, samples));
  s.y.resize(1, samples);
  const Eigen::Index half = steps / 2;
  for (Eigen::Index i = 0; i < samples; ++i) {
    for (auto& x : s.x) x(0, i) = rng.uniform();
    const auto first = std::size_t(std::min(half - 1, Eigen::Index(rng.uniform() * double(half))));
    const auto second = std::size_t(
        std::min(steps - 1, half + Eigen::Index(rng.uniform() * double(steps - half))));
    s.x[first](1, i) = s.x[second](1, i) = 1;
    s.y(0, i) = s.x[first](0, i) + s.x[second](0, i);
  }
  return s;
}

}  // namespace gradscope::models
