// The two-Gaussian generator, the CSV reader and the adding problem.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <gradscope/models/models.hpp>

using namespace gradscope;
using namespace gradscope::models;

TEST_CASE("two_gaussians: seeded, class 0 first, post's Cholesky factor of the lower triangle") {
  TwoGaussians s;
  s.per_class = 4000;
  s.seed = 11;
  const auto d = two_gaussians(s);
  REQUIRE(d.x.rows() == 2);
  REQUIRE(d.x.cols() == 8000);
  CHECK(d.y.leftCols(4000).isZero());
  CHECK(d.y.rightCols(4000).isOnes());
  CHECK(d.x == two_gaussians(s).x);
  s.seed = 12;
  CHECK(d.x != two_gaussians(s).x);
  // Points are mean + r·R with R = chol of [[1, 1.5], [1.5, 3]] (lower triangle), so their
  // covariance is RᵀR = [[3.25, 1.5·√0.75], [1.5·√0.75, 0.75]].
  const Eigen::MatrixXd c0 = d.x.leftCols(4000);
  const Eigen::Vector2d mean = c0.rowwise().mean();
  CHECK(mean(0) == Approx(2).margin(0.08));
  CHECK(mean(1) == Approx(3).margin(0.05));
  const Eigen::MatrixXd centred = c0.colwise() - mean;
  const Eigen::Matrix2d cov = centred * centred.transpose() / 3999;
  CHECK(cov(0, 0) == Approx(3.25).epsilon(0.06));
  CHECK(cov(1, 1) == Approx(0.75).epsilon(0.06));
  CHECK(cov(0, 1) == Approx(1.5 * std::sqrt(0.75)).epsilon(0.06));
}

TEST_CASE("two_gaussians rejects bad specifications") {
  TwoGaussians s;
  s.per_class = 0;
  CHECK_THROWS_WITH(two_gaussians(s), Catch::Contains("0 points per class"));
  s.per_class = 3;
  s.sigma = (Eigen::Matrix2d() << 1, 0, 2, 1).finished();
  CHECK_THROWS_WITH(two_gaussians(s), Catch::Contains("not positive definite"));
  s.sigma = Eigen::Matrix3d::Identity();
  CHECK_THROWS_WITH(two_gaussians(s), Catch::Contains("covariance is 3x3, expected 2x2"));
}

namespace {
std::string write_temp(const std::string& name, const std::string& content) {
  const std::string path = "gradscope_data_test_" + name + ".csv";
  std::ofstream(path, std::ios::binary) << content;
  return path;
}
}  // namespace

TEST_CASE("adding_problem: two markers, one per half, the target the sum of the marked values") {
  const Eigen::Index steps = 50, samples = 300;
  const Sequences s = adding_problem(steps, samples, 7);
  REQUIRE(s.steps() == steps);
  REQUIRE(s.samples() == samples);
  REQUIRE(s.y.rows() == 1);
  double sum_of_targets = 0;
  for (Eigen::Index i = 0; i < samples; ++i) {
    int first_half = 0, second_half = 0;
    double marked = 0;
    for (Eigen::Index t = 0; t < steps; ++t) {
      const auto& x = s.x[std::size_t(t)];
      REQUIRE(x.rows() == 2);
      REQUIRE(x.cols() == samples);
      CHECK(x(0, i) >= 0);
      CHECK(x(0, i) < 1);
      const double m = x(1, i);
      REQUIRE((m == 0 || m == 1));
      (t < steps / 2 ? first_half : second_half) += int(m);
      marked += m * x(0, i);
    }
    CHECK(first_half == 1);
    CHECK(second_half == 1);
    CHECK(s.y(0, i) == marked);
    sum_of_targets += s.y(0, i);
  }
  // The sum of two U(0, 1): mean 1.
  CHECK(sum_of_targets / samples == Approx(1).margin(0.05));
  CHECK(adding_problem(steps, samples, 7).y == s.y);
  CHECK(adding_problem(steps, samples, 8).y != s.y);
  // The shortest sequence: the markers sit at steps 0 and 1.
  const Sequences two = adding_problem(2, 5, 1);
  CHECK(two.x[0].row(1).isOnes());
  CHECK(two.x[1].row(1).isOnes());
  CHECK_THROWS_WITH(adding_problem(1, 5, 1), Catch::Contains("1 steps"));
  CHECK_THROWS_WITH(adding_problem(10, 0, 1), Catch::Contains("0 samples"));
}

TEST_CASE("load_csv reads features and labels, save_csv round-trips exactly") {
  const auto path = write_temp("ok", "x,y,label\r\n1.5, 2,0\n\n-3e2,4.25,1\n");
  const auto d = load_csv(path);
  CHECK(d.feature_names == std::vector<std::string>{"x", "y"});
  REQUIRE(d.x.cols() == 2);
  CHECK(d.x(0, 0) == 1.5);
  CHECK(d.x(0, 1) == -300);
  CHECK(d.x(1, 1) == 4.25);
  CHECK(d.y(0, 0) == 0);
  CHECK(d.y(0, 1) == 1);

  TwoGaussians s;
  s.seed = 3;
  const auto g = two_gaussians(s);
  save_csv(g, path);
  const auto back = load_csv(path);
  CHECK(back.x == g.x);
  CHECK(back.y == g.y);
  std::remove(path.c_str());
}

TEST_CASE("load_csv reports its progress after each block of 64 KB read") {
  std::string text = "x,label\n";
  for (int i = 0; i < 30000; ++i) text += std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  const auto path = write_temp("progress", text);
  std::vector<ReadState> calls;
  const auto d = load_csv(path, [&](const ReadState& p) { calls.push_back(p); });
  CHECK(d.x.cols() == 30000);
  // 228,898 bytes: three full blocks, one partial, then the read that finds the end.
  REQUIRE(calls.size() == 5);
  for (std::size_t k = 0; k < calls.size(); ++k) {
    CHECK(calls[k].bytes_total == text.size());
    CHECK(calls[k].bytes_read == std::min(text.size(), (k + 1) * 65536));
  }
  // What the values take grows with them: 30,000 rows of 2 values held at the end, at 3 times
  // their capacity (their next growth, or their copy into the Dataset).
  CHECK(calls.back().bytes_needed >= 3 * 60000 * sizeof(double));
  CHECK(calls.back().bytes_needed > calls.front().bytes_needed);
  // A callback that throws stops the read.
  CHECK_THROWS_WITH(load_csv(path, [](const ReadState&) { throw gradscope::Error("stop"); }),
                    "stop");
  std::remove(path.c_str());
}

TEST_CASE("load_csv finds every line end wherever a block boundary falls") {
  // Rows of varied length, so that in some file of each kind a block of 64 KB ends inside a row,
  // just before its line end, and between the "\r" and "\n" of "\r\n".
  for (const std::string end : {"\n", "\r\n", "\r"}) {
    for (int pad = 0; pad < 12; ++pad) {
      INFO("line end " << (end == "\n" ? "LF" : end == "\r" ? "CR" : "CRLF") << ", pad " << pad);
      std::string text = "x" + std::string(std::size_t(pad), ' ') + ",label" + end;
      const int rows = 20000;
      Eigen::RowVectorXd x(rows), y(rows);
      for (int i = 0; i < rows; ++i) {
        x(i) = i * 7;
        y(i) = i % 2;
        text += std::to_string(i * 7) + "," + std::to_string(i % 2) + end;
      }
      const auto path = write_temp("blocks", text);
      const auto d = load_csv(path);
      CHECK(d.x == x);
      CHECK(d.y == y);
      std::remove(path.c_str());
    }
  }
  // A first line longer than a block, ending in "\r" as its block's last byte: whether lines end
  // in "\r" or "\r\n" is known only from the next block.
  const std::string name(65536 - 7, 'n');  // the header's "\r" is byte 65,536
  for (const std::string end : {"\r", "\r\n"}) {
    const auto path = write_temp("long", name + ",label" + end + "1,0" + end + "2,1" + end);
    const auto d = load_csv(path);
    CHECK(d.feature_names == std::vector<std::string>{name});
    CHECK(d.x == Eigen::RowVector2d(1, 2));
    CHECK(d.y == Eigen::RowVector2d(0, 1));
    std::remove(path.c_str());
  }
}

TEST_CASE("load_csv names file, line and column for every malformed input") {
  struct Case {
    const char* name;
    const char* content;
    const char* message;
  };
  const Case cases[] = {
      {"empty", "", "empty file"},
      {"onecol", "label\n1\n", ":1: header has 1 column"},
      {"noname", "x,,label\n1,2,0\n", ":1: column 2 of the header has no name"},
      {"norows", "x,y,label\n\n", "header but no data rows"},
      {"fields", "x,y,label\n1,2,0\n1,2\n", ":3: 2 fields, expected 3"},
      {"nan_text", "x,y,label\n1,abc,0\n", ":2: column 2 ('y'): 'abc' is not a number"},
      {"emptycell", "x,y,label\n1,,0\n", ":2: column 2 ('y'): '' is not a number"},
      {"trailing", "x,y,label\n1,2x,0\n", "column 2 ('y'): '2x' is not a number"},
      {"nan", "x,y,label\nnan,2,0\n", ":2: column 1 ('x'): 'nan' is not a finite number"},
      {"inf", "x,y,label\n1,1e999,0\n", "column 2 ('y'): '1e999' is not a finite number"},
      {"label", "x,y,label\n1,2,0\n1,2,2\n", ":3: column 3 ('label'): label '2' must be 0 or 1"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto path = write_temp(c.name, c.content);
    CHECK_THROWS_WITH(load_csv(path), Catch::Contains(path) && Catch::Contains(c.message));
    std::remove(path.c_str());
  }
  CHECK_THROWS_WITH(load_csv("no/such/file.csv"), Catch::Contains("no/such/file.csv: cannot open"));
}
