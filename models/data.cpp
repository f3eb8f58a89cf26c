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

// The file's lines, split at "\n" (a "\r" before it dropped by trim), or at "\r" alone when that is
// how the first line ends (old Mac files); a "\r" inside a line of the first kind stays, and is
// reported as part of its field.
std::vector<std::string_view> lines_of(std::string_view text) {
  const auto first = text.find_first_of("\r\n");
  const char end = first != std::string_view::npos && text[first] == '\r' &&
                           (first + 1 == text.size() || text[first + 1] != '\n')
                       ? '\r'
                       : '\n';
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto at = text.find(end);
    lines.push_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return lines;
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> fields;
  for (;;) {
    const auto comma = line.find(',');
    fields.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return fields;
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

std::string read_text_file(const std::string& path, const char* kind) {
  const std::string file = printable_path(path);  // as messages show it
  // A directory opens as a stream that reads nothing: it would pass for an empty file.
  if (std::filesystem::is_directory(path)) fail("{}: is a directory, not {}", file, kind);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading", file);
  std::string text;
  char block[1 << 16];
  while (in.read(block, sizeof block) || in.gcount() > 0) {
    const std::string_view got(block, std::size_t(in.gcount()));
    if (const auto nul = got.find('\0'); nul != std::string_view::npos)
      fail("{}: byte {} is NUL: not {}", file, text.size() + nul + 1, kind);
    text.append(got);
  }
  if (in.bad()) fail("{}: read error", file);
  return text;
}

Dataset load_csv(const std::string& path, const ReadProgress& progress) {
  const std::string file = printable_path(path);  // as messages show it
  const std::string text = read_text_file(path, "a CSV file");
  const std::vector<std::string_view> lines = lines_of(text);
  std::size_t line_no = 0;
  std::vector<std::string> header;
  while (header.empty() && line_no < lines.size()) {
    const std::string_view line = lines[line_no++];
    if (trim(line).empty()) continue;
    for (auto f : split(line)) header.emplace_back(f);
  }
  if (header.empty())
    fail("{}: empty file; expected a header row, then rows of features and a 0/1 label", file);
  if (header.size() < 2)
    fail("{}:{}: header has {} column; need at least one feature column and a label column", file,
         line_no, header.size());
  for (std::size_t c = 0; c < header.size(); ++c)
    if (header[c].empty()) fail("{}:{}: column {} of the header has no name", file, line_no, c + 1);

  const std::size_t cols = header.size();
  std::vector<double> values;  // row-major, cols per row
  std::size_t rows = 0;
  constexpr std::size_t kProgressEvery = 4096;  // rows: the callback costs nothing per row
  while (line_no < lines.size()) {
    if (progress && line_no % kProgressEvery == 0)
      progress(std::size_t(lines[line_no].data() - text.data()), text.size());
    const std::string_view line = lines[line_no++];
    if (trim(line).empty()) continue;
    const auto fields = split(line);
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
      values.push_back(d.value);
    }
    ++rows;
  }
  if (rows == 0) fail("{}: header but no data rows", file);

  Dataset data;
  data.x.resize(Eigen::Index(cols - 1), Eigen::Index(rows));
  data.y.resize(1, Eigen::Index(rows));
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c + 1 < cols; ++c)
      data.x(Eigen::Index(c), Eigen::Index(r)) = values[r * cols + c];
    data.y(0, Eigen::Index(r)) = values[r * cols + cols - 1];
  }
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
