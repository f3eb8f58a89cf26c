// The gradscope command line, run as a user runs it: what demo, train and compare compute, in their
// JSON and tables. Help, version, output files and widths: cli_usage_test.cpp.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../models/post_reference.hpp"
#include "apps/cli_sandbox.hpp"

using gradscope::testing::run;
using gradscope::testing::slurp;

namespace {

std::string write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// A file of this test process, removed when the test case ends.
struct TempFile {
  std::string path;
  ~TempFile() { std::remove(path.c_str()); }
};

TempFile fixed_points_csv() {
  const auto p = gradscope::testing::fixed_points();
  std::string csv = "x1,x2,label\n";
  for (std::size_t s = 0; s < p.y.size(); ++s)
    csv += fmt::format("{},{},{}\n", p.x[0][s], p.x[1][s], int(p.y[s]));
  return {write_file("cli_test_points." + std::to_string(::getpid()) + ".csv", csv)};
}

// Every entry of the JSON matrix within 1e-10 of the reference, relative to its largest entry.
void check_close(const nlohmann::json& got, const gradscope::testing::Mat& want, const char* what,
                 int layer) {
  double scale = 0;
  for (auto& row : want)
    for (double v : row) scale = std::max(scale, std::abs(v));
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    for (std::size_t j = 0; j < want[i].size(); ++j) {
      INFO(what << " layer " << layer << " [" << i << "," << j << "]");
      CHECK(std::abs(got[i][j].get<double>() - want[i][j]) <= 1e-10 * scale);
    }
}

}  // namespace

TEST_CASE("demo --data --json: dz, dw, db equal the post's algorithm on the same points") {
  const auto csv = fixed_points_csv();
  for (bool sigmoid : {false, true}) {
    INFO((sigmoid ? "sigmoid" : "relu"));
    std::remove("cli_test_demo.json");
    const auto r = run("demo --data " + csv.path + " --json cli_test_demo.json" +
                       (sigmoid ? " --act sigmoid" : ""));
    REQUIRE(r.code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.find("layer") != std::string::npos);
    const auto doc = nlohmann::json::parse(slurp("cli_test_demo.json"));
    CHECK(doc["config"]["data"] == csv.path);
    const auto ref = gradscope::testing::post_backprop(
        gradscope::testing::fixed_points(), 10, 2, 0.8, sigmoid,
        sigmoid ? gradscope::testing::Derivative::Logistic : gradscope::testing::Derivative::Relu);
    REQUIRE(doc["layers"].size() == 10);
    for (const auto& layer : doc["layers"]) {
      const int l = layer["layer"];
      check_close(layer["dw"], ref.dw[l], "dw", l);
      gradscope::testing::Mat db{ref.db[l]}, dz(1);
      check_close(nlohmann::json::array({layer["db"]}), db, "db", l);
      for (auto& row : ref.dz[l]) dz[0].push_back(row[0]);  // sample 0, no 1/m: the post's a - y
      check_close(nlohmann::json::array({layer["dz"]}), dz, "dz", l);
      CHECK(layer["activation"] == (l == 10 || sigmoid ? "sigmoid" : "relu"));
      CHECK(layer["dw_norm"].get<double>() > 0);
    }
  }
}

TEST_CASE("demo --arch residual --norm layer: blocks and normalised layers, diagnosed as units") {
  std::remove("cli_test_residual.json");
  const auto r = run("demo --arch residual --norm layer --depth 12 --width 8 --init he "
                     "--json cli_test_residual.json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("residual (blocks 2..11), layer norm") != std::string::npos);
  const auto doc = nlohmann::json::parse(slurp("cli_test_residual.json"));
  CHECK(doc["config"]["arch"] == "residual");
  CHECK(doc["config"]["norm"] == "layer");
  REQUIRE(doc["layers"].size() == 12);
  const auto& units = doc["diagnosis"]["layers"];
  REQUIRE(units.size() == 12);
  CHECK(units[1]["scope"] == "block2");
  CHECK(units[11]["scope"] == "layer12");
}

TEST_CASE("demo's ReLU table: ratio 0.8 of dz and db below layer 9, dw ratio 1") {
  const auto csv = fixed_points_csv();
  const auto r = run("demo --data " + csv.path + " --json cli_test_ratio.json");
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(slurp("cli_test_ratio.json"));
  for (const auto& layer : doc["layers"]) {
    if (layer["layer"].get<int>() > 8) continue;
    CHECK(layer["dz_ratio"].get<double>() == Approx(0.8).epsilon(1e-14));
    CHECK(layer["db_ratio"].get<double>() == Approx(0.8).epsilon(1e-14));
    CHECK(layer["dw_ratio"].get<double>() == Approx(1.0).epsilon(1e-12));
  }
  CHECK(doc["layers"][9]["dz_ratio"].is_null());
}

TEST_CASE("train: loss history, accuracy of network and baseline, per-layer gradients") {
  std::remove("cli_test_train.json");
  const auto r =
      run("train --iters 300 --samples 40 --history-every 100 --json cli_test_train.json");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("logistic regression") != std::string::npos);
  const auto doc = nlohmann::json::parse(slurp("cli_test_train.json"));
  CHECK(doc["config"]["iterations"] == 300);
  CHECK(doc["config"]["samples"] == 80);
  const auto& h = doc["network"]["loss_history"];
  REQUIRE(h.size() == 4);
  CHECK(h[3]["iteration"] == 300);
  CHECK(h[3]["loss"].get<double>() < h[0]["loss"].get<double>());
  CHECK(doc["network"]["accuracy"].get<double>() >= 0.5);
  CHECK(doc["baseline"].contains("accuracy"));
  CHECK(doc["layers"].size() == 10);
}

TEST_CASE("demo and train: gradient diagnosis table, measured_gain, theory_gain, verdict") {
  const auto relu = run("demo --json cli_test_diag_relu.json");
  REQUIRE(relu.code == 0);
  CHECK(relu.out.find("network: gain 0.8 per layer (theory ") != std::string::npos);
  CHECK(relu.out.find("theory is mean-field (wide layers); at width 2") != std::string::npos);
  auto doc = nlohmann::json::parse(slurp("cli_test_diag_relu.json"));
  CHECK(doc["measured_gain"].get<double>() == Approx(0.8).margin(1e-9));
  CHECK(doc["theory_gain"].is_number());
  CHECK(doc["verdict"] == "vanishing");
  CHECK(doc["diagnosis"]["layers"].size() == 10);

  const auto sigmoid = run("demo --act sigmoid --json cli_test_diag_sigmoid.json");
  REQUIRE(sigmoid.code == 0);
  doc = nlohmann::json::parse(slurp("cli_test_diag_sigmoid.json"));
  CHECK(doc["measured_gain"].get<double>() == Approx(0.1726).margin(0.0005));
  CHECK(doc["diagnosis"]["layers"][4]["gain"].get<double>() == Approx(0.188).margin(0.0015));
  // At width 2 without dead units, mean-field's average agrees with the middle layers.
  CHECK(doc["diagnosis"]["layers"][4]["ratio"].get<double>() == Approx(1).margin(0.01));
  CHECK(doc["verdict"] == "vanishing");

  const auto train = run("train --iters 20 --samples 40 --json cli_test_diag_train.json");
  REQUIRE(train.code == 0);
  CHECK(train.out.find("gradient diagnosis before training") != std::string::npos);
  CHECK(train.out.find("gradient diagnosis after training") != std::string::npos);
  doc = nlohmann::json::parse(slurp("cli_test_diag_train.json"));
  CHECK(doc.contains("measured_gain"));
  CHECK(doc.contains("theory_gain"));
  CHECK(doc["verdict"].is_string());
  CHECK(doc["diagnosis_before_training"]["measured_gain"].get<double>() ==
        Approx(1.1).margin(1e-9));
}

TEST_CASE("demo and train --arch rnn|lstm: per_step_gain and verdict through time") {
  const auto linear = run("demo --arch rnn --act identity --steps 100 --rec-scale 1.1 --json cli_test_rnn.json");
  REQUIRE(linear.code == 0);
  CHECK(linear.out.find("Pascanu bound: sigma_max(W_rec) 1.1 x gamma 1") != std::string::npos);
  auto doc = nlohmann::json::parse(slurp("cli_test_rnn.json"));
  CHECK(doc["per_step_gain"].get<double>() == Approx(1.1).epsilon(1e-9));
  CHECK(doc["verdict"] == "exploding");
  CHECK(doc["config"]["rec_init"] == "orthogonal");
  CHECK(doc["through_time"]["grad_norm_per_step"].size() == 100);
  CHECK(doc["through_time"]["pascanu_bound"].get<double>() == Approx(1.1).epsilon(1e-9));

  const auto lstm = run("train --arch lstm --steps 10 --width 8 --samples 60 --iters 20 "
                        "--optimizer adam --history-every 10 --json cli_test_lstm.json");
  REQUIRE(lstm.code == 0);
  doc = nlohmann::json::parse(slurp("cli_test_lstm.json"));
  CHECK(doc["config"]["arch"] == "lstm");
  CHECK(doc["per_step_gain"].is_number());
  CHECK(doc["verdict"].is_string());
  CHECK(doc["through_time"]["pascanu_bound"].is_null());  // no bound for an LSTM
  CHECK(doc["history"].size() == 3);
  CHECK(doc["test_mse"] == doc["history"][2]["test_mse"]);
}

TEST_CASE(
    "compare: the post's ReLU and corrected sigmoid derivations agree, the published "
    "sigmoid one is wrong from layer9/z") {
  const auto csv = fixed_points_csv();
  std::remove("cli_test_compare.json");
  const auto r = run("compare --data " + csv.path + " --json cli_test_compare.json");
  REQUIRE(r.code == 0);
  // The line is wrapped at 100 columns: its two parts.
  CHECK(r.out.find("post-sigmoid: DISAGREES with autodiff at 27 of 30 nodes. First wrong node in "
                   "backward order:") != std::string::npos);
  CHECK(r.out.find("layer9/z (same direction, 4.25") != std::string::npos);
  const auto doc = nlohmann::json::parse(slurp("cli_test_compare.json"));
  const auto& d = doc["derivations"];
  REQUIRE(d.size() == 3);
  CHECK(d[0]["derivation"] == "post-relu");
  CHECK(d[0]["agrees"] == true);
  CHECK(d[0]["first_wrong"].is_null());
  CHECK(d[1]["derivation"] == "post-sigmoid");
  CHECK(d[1]["agrees"] == false);
  CHECK(d[1]["first_wrong"]["node"] == "layer9/z");
  CHECK(d[1]["first_wrong"]["factor"].get<double>() > 4);
  CHECK(d[1]["first_wrong"]["cosine"].get<double>() > 0.9999);  // a scale error, not a sign error
  CHECK(d[1]["first_wrong"]["rel_error"].get<double>() > 3);
  CHECK(d[2]["derivation"] == "corrected-sigmoid");
  CHECK(d[2]["agrees"] == true);
  CHECK(d[1]["nodes"].size() == 30);
  CHECK(d[1]["layers"].size() == 10);
  CHECK(run("compare --derivation post-tanh").code == 2);
}
