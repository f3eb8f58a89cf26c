#pragma once
// Data sets for classification in the post's layout: x is features x samples, y is 1 x samples
// with labels 0 or 1 (binary), or class indices 0 .. k-1 (gaussian_classes, for cross_entropy);
// and sequences for recurrent networks.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gradscope::models {

struct Dataset {
  Eigen::MatrixXd x;                       // features x samples
  Eigen::MatrixXd y;                       // 1 x samples: 0 or 1, or a class index
  std::vector<std::string> feature_names;  // one per row of x
  Eigen::Index samples() const { return x.cols(); }
  Eigen::Index features() const { return x.rows(); }
};

// The post's generator: per class, per_class points mean + r·R with r a row of independent
// standard normals and R = cholesky(sigma), the lower-triangular factor NumPy's
// numpy.linalg.cholesky returns. Like NumPy it reads only sigma's lower triangle, so the post's
// non-symmetric [[1, 0.5], [1.5, 3]] is taken as [[1, 1.5], [1.5, 3]]; and because the post
// multiplies the row r by R on the right, the points' covariance is RᵀR, not sigma.
// Class 0 comes first (samples 0 .. per_class-1), then class 1, as in the post.
struct TwoGaussians {
  Eigen::VectorXd mean0 = Eigen::Vector2d(2, 3);
  Eigen::VectorXd mean1 = Eigen::Vector2d(7, 6);
  Eigen::MatrixXd sigma = (Eigen::Matrix2d() << 1, 0.5, 1.5, 3).finished();
  Eigen::Index per_class = 10;
  std::uint64_t seed = 0;
};
// Throws Error for mismatched sizes, per_class < 1, or a lower triangle that is not positive
// definite.
Dataset two_gaussians(const TwoGaussians& spec);

// A decimal number as the CSV reader and the command line read it: an optional '-', digits with an
// optional fraction and exponent (1, -0.5, .5, 2e-3, 1e-320), or inf, infinity or nan; nothing
// else (no '+', no hexadecimal, no spaces, no trailing text). A magnitude beyond double's range
// reads as ±inf; one too small for the smallest subnormal (1e-400) is TooSmall, never 0.
struct Decimal {
  enum Status { Ok, NotANumber, TooSmall } status = NotANumber;
  double value = 0;  // Ok: the nearest double
};
Decimal parse_decimal(std::string_view text);

// k classes (k = means.size() >= 2), per_class points each around its mean with independent
// normal noise of standard deviation stddev in every feature; class c's points are samples
// c·per_class .. (c+1)·per_class − 1 with label c. Throws Error for fewer than 2 means, means of
// different or zero sizes, per_class < 1, or a stddev that is not finite and >= 0.
struct GaussianClasses {
  std::vector<Eigen::VectorXd> means;
  double stddev = 1;
  Eigen::Index per_class = 10;
  std::uint64_t seed = 0;
};
Dataset gaussian_classes(const GaussianClasses& spec);

// How far reading a file has come, reported after each block of 64 KB read. A callback that
// throws stops the read (the command line stops one that would outgrow memory, such as a stream
// of valid rows that never ends).
struct ReadState {
  std::size_t bytes_read;    // of the file so far
  std::size_t bytes_total;   // the file's size; 0 for a stream (a FIFO, a device)
  std::size_t bytes_needed;  // memory the read may take on its next block: 3 times what it holds,
                             // for the next growth of a buffer that doubles
};
using ReadProgress = std::function<void(const ReadState&)>;

// CSV: a header row naming the columns, then one sample per row: feature columns, then the label
// (0 or 1) in the last column. Blank lines are skipped; fields may be surrounded by spaces; line
// ends may be \n, \r\n or \r alone. Values are decimal numbers (parse_decimal), finite.
// Every malformed input throws Error naming the file, the line and the column (number and header
// name); text it quotes has control bytes and bytes of 0x80 and above escaped (\x0d, \xff).
// progress, if set, is called after each block read.
Dataset load_csv(const std::string& path, const ReadProgress& progress = {});

// The whole of the text file at path (a regular file, or a FIFO or device read to its end). Error
// naming the file if it is a directory ("is a directory, not <kind>"), cannot be opened or read,
// or holds a NUL byte, which no text does: a device that never ends, such as /dev/zero or
// /dev/urandom, is refused at its first block instead of filling memory. load_csv reads the same
// way, a block at a time, keeping the values rather than the text.
std::string read_text_file(const std::string& path, const char* kind,
                           const ReadProgress& progress = {});

// Writes the format load_csv reads (labels as 0/1, values with 17 significant digits, so a round
// trip is exact), through write_file_atomically: path is never half written.
void save_csv(const Dataset& data, const std::string& path);

// A sequence task: x[t] is features x samples at step t (t = 0 .. steps-1), y targets x samples.
struct Sequences {
  std::vector<Eigen::MatrixXd> x;
  Eigen::MatrixXd y;
  Eigen::Index steps() const { return Eigen::Index(x.size()); }
  Eigen::Index samples() const { return y.cols(); }
};

// The adding problem (Hochreiter & Schmidhuber 1997, experiment 4, in the form of Le et al. 2015):
// two features per step, a value drawn from U(0, 1) and a marker, 1 at exactly two steps (one
// drawn uniformly from the first half, steps 0 .. steps/2 - 1, one from the second half) and 0
// elsewhere; the target (1 x samples) is the sum of the two marked values. Predicting the mean,
// 1, gives a mean squared error of 1/6. Throws Error for steps < 2 or samples < 1.
Sequences adding_problem(Eigen::Index steps, Eigen::Index samples, std::uint64_t seed);

}  // namespace gradscope::models
