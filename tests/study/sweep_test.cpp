// The sweep: results that depend on the grid only (not on threads or shards), the merge of shards
// into the unsharded document, the grid's refusals, and the physics it must reproduce: He init
// keeps a relu network's gradient (gain 1), Xavier's halves its variance per layer (gain √½).
#include <gradscope/writers/sweep_files.hpp>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#ifdef __linux__
#include <sched.h>
#endif

using namespace gradscope;
using namespace gradscope::study;
using Catch::Contains;

namespace {
Grid small_grid() {
  Grid g;
  g.depths = {4, 6};
  g.widths = {16};
  g.acts = {"relu", "tanh"};
  g.inits = {"he", "gaussian", "critical"};
  g.sigma_w2 = {1.5};
  g.sigma_b2 = {0.05};
  g.repeats = 2;
  g.samples = 8;
  g.seed = 7;
  g.spectrum = true;
  return g;
}

std::string run(const Grid& g, Shard shard, unsigned threads) {
  const auto all = cells(g);
  return sweep_json(g, shard, all.size(), run_sweep(g, all, shard, threads)).dump(2);
}
}  // namespace

TEST_CASE("sweep: the grid's cells, in order", "[sweep]") {
  const auto c = cells(small_grid());
  REQUIRE(c.size() == 2 * 3 * 2);
  for (std::size_t i = 0; i < c.size(); ++i) CHECK(c[i].index == i);
  CHECK(c[0].act == "relu");
  CHECK(c[0].sigma_w2 == 2);  // he
  CHECK(c[4].init == "critical");
  CHECK(c[4].sigma_w2 == Approx(2).epsilon(1e-9));  // relu's edge of chaos
  CHECK(c[10].act == "tanh");
  CHECK(c[10].sigma_w2 == Approx(1.76).margin(0.01));
}

TEST_CASE("sweep: results do not depend on the thread count", "[sweep]") {
  const Grid g = small_grid();
  CHECK(run(g, {}, 1) == run(g, {}, 2));
}

TEST_CASE("sweep: three shards merged are the unsharded run", "[sweep]") {
  const Grid g = small_grid();
  std::vector<std::pair<std::string, Json>> shards;
  for (std::size_t i = 1; i <= 3; ++i)
    shards.emplace_back("s" + std::to_string(i), Json::parse(run(g, {i, 3}, 2)));
  const std::string whole = run(g, {}, 2);
  CHECK(merge_shards(shards).dump(2) == whole);
  std::swap(shards[0], shards[2]);  // the order of the files does not matter
  CHECK(merge_shards(shards).dump(2) == whole);
  // the CSV has the JSON's scalar columns
  const std::string csv = sweep_csv(Json::parse(whole));
  CHECK_THAT(csv.substr(0, csv.find('\n')),
             Contains("index,arch,norm,act,init,depth,width,sigma_w2,sigma_b2,gain,gain_sd,"
                      "gain_theory,theory,ratio") &&
                 Contains("verdict,jacobian_s2_mean,jacobian_s2_var,jacobian_s_max"));
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 13);
  CHECK(csv.find("jacobian_s2,") == std::string::npos);  // the s² list is JSON only
}

TEST_CASE("sweep: --spectrum keeps every seed's s², ascending, whose moments are the means",
          "[sweep]") {
  Grid g = small_grid();
  g.acts = {"identity"};
  g.inits = {"orthogonal", "gaussian"};
  g.depths = {4};
  const auto results = run_sweep(g, cells(g), {}, 2);
  REQUIRE(results.size() == 2);
  for (const auto& c : results) {
    const auto& s2 = c.spectrum.s2;
    REQUIRE(s2.size() == std::size_t(g.repeats * g.widths.front()));
    CHECK(std::is_sorted(s2.begin(), s2.end()));
    double mean = 0;
    for (double v : s2) mean += v / double(s2.size());
    CHECK(mean == Approx(c.spectrum.s2_mean).epsilon(1e-9));  // equal seeds' sizes
  }
  // orthogonal linear layers: every singular value is 1
  CHECK(results[0].spectrum.s2.front() == Approx(1).epsilon(1e-9));
  CHECK(results[0].spectrum.s2.back() == Approx(1).epsilon(1e-9));
  CHECK(results[1].spectrum.s2.back() > 1.5);  // gaussian: a spread
  CHECK(sweep_json(g, {}, 2, results)["cells"][1]["jacobian_s2"].size() == results[1].spectrum.s2.size());
}

TEST_CASE("sweep: merge refuses shards of different grids, repeated and missing cells", "[sweep]") {
  const Grid g = small_grid();
  Grid other = g;
  other.seed = 8;
  const Json a = Json::parse(run(g, {1, 2}, 2)), b = Json::parse(run(other, {2, 2}, 2));
  CHECK_THROWS_WITH(merge_shards({{"a.json", a}, {"b.json", b}}),
                    Contains("a.json and b.json are shards of different grids"));
  CHECK_THROWS_WITH(merge_shards({{"a.json", a}, {"c.json", a}}),
                    Contains("cell 0 is in both a.json and c.json"));
  CHECK_THROWS_WITH(merge_shards({{"a.json", a}}), Contains("cell 1 of 12 is in none"));
  CHECK_THROWS_WITH(merge_shards({{"x.json", Json::object()}}), Contains("x.json is not a sweep's JSON"));
}

TEST_CASE("sweep: bad grids and shards are refused, naming the option", "[sweep]") {
  auto refused = [](auto change, const char* message) {
    Grid g = small_grid();
    change(g);
    CHECK_THROWS_WITH(cells(g), Contains(message));
  };
  refused([](Grid& g) { g.acts = {"softsign"}; }, "unknown activation 'softsign'");
  refused([](Grid& g) { g.inits = {"lecun"}; }, "unknown --inits 'lecun'");
  refused([](Grid& g) { g.depths = {}; }, "--depths is empty");
  refused([](Grid& g) { g.depths = {-3}; }, "--depths -3");
  refused([](Grid& g) { g.widths = {0}; }, "--widths 0");
  refused([](Grid& g) { g.sigma_w2 = {0}; }, "--sigma-w2 0");
  refused([](Grid& g) { g.sigma_b2 = {-1}; }, "--sigma-b2 -1");
  refused([](Grid& g) { g.repeats = 0; }, "--repeats 0");
  refused([](Grid& g) { g.arch = "cnn"; }, "--arch cnn: unknown architecture");
  refused([](Grid& g) { g.norm = "batch"; }, "unknown normalisation 'batch'");
  refused([](Grid& g) { g.arch = "residual"; }, "--spectrum: the Jacobian is for --arch mlp");
  auto rnn = [](Grid& g) {
    g.arch = "rnn";
    g.spectrum = false;
    g.acts = {"tanh"};
  };
  refused([&](Grid& g) { rnn(g), g.depths = {1}; }, "--depths 1: --arch rnn reads each depth");
  refused([&](Grid& g) { rnn(g), g.acts = {"relu"}; }, "--acts relu: --arch rnn takes tanh or");
  refused([&](Grid& g) { rnn(g), g.arch = "lstm", g.acts = {"identity"}; }, "lstm takes tanh only");
  refused([&](Grid& g) { rnn(g), g.norm = "layer"; }, "--arch rnn has no normalisation");
  refused([&](Grid& g) { rnn(g), g.rec_scale = 0; }, "--rec-scale 0");
  refused([&](Grid& g) { rnn(g), g.rec_init = "zeros"; }, "zeros");
  CHECK_THROWS_WITH(parse_shard("3/2"), Contains("--shard '3/2'"));
  CHECK_THROWS_WITH(parse_shard("0/2"), Contains("--shard '0/2'"));
  CHECK_THROWS_WITH(parse_shard("1/x"), Contains("--shard '1/x'"));
  CHECK(parse_shard("2/5").index == 2);
}

TEST_CASE("sweep: He init keeps a deep relu network's gradient, Xavier halves its variance", "[sweep]") {
  Grid g;
  g.depths = {20};
  g.widths = {256};
  g.acts = {"relu"};
  g.inits = {"he", "xavier"};
  g.repeats = 2;
  const auto r = run_sweep(g, cells(g), {}, 2);
  REQUIRE(r.size() == 2);
  CHECK(r[0].gain == Approx(1).margin(0.05));
  CHECK(r[0].theory.gain == Approx(1).epsilon(1e-12));
  CHECK(r[0].verdict == "stable");
  CHECK(r[1].gain == Approx(std::sqrt(0.5)).margin(0.03));
  CHECK(r[1].verdict == "vanishing");
}

TEST_CASE("sweep: every architecture is independent of threads and shards", "[sweep]") {
  for (const char* arch : {"residual", "rnn", "lstm"}) {
    Grid g = small_grid();
    g.arch = arch;
    g.spectrum = false;
    g.norm = std::string(arch) == "residual" ? "layer" : "none";
    if (std::string(arch) != "residual") g.acts = {"tanh"};
    const std::string whole = run(g, {}, 1);
    CHECK(run(g, {}, 2) == whole);
    std::vector<std::pair<std::string, Json>> shards;
    for (std::size_t i = 1; i <= 2; ++i)
      shards.emplace_back("s" + std::to_string(i), Json::parse(run(g, {i, 2}, 2)));
    CHECK(merge_shards(shards).dump(2) == whole);
    CHECK(Json::parse(whole)["grid"]["arch"] == arch);
  }
}

TEST_CASE("sweep: each architecture's measured gain beside its theory", "[sweep]") {
  Grid g;
  g.depths = {30};
  g.widths = {128};
  g.repeats = 2;
  g.acts = {"tanh"};
  g.inits = {"gaussian"};
  g.sigma_w2 = {0.64};
  SECTION("tanh with layer norm: mean-field through the normalisation, weight scale cancels") {
    g.norm = "layer";
    const auto r = run_sweep(g, cells(g), {}, 2);
    CHECK(r[0].theory_kind == "mean-field layer norm");
    CHECK(r[0].theory.gain == Approx(1.08 * std::sqrt(1 - 2.0 / 128)).margin(0.01));
    CHECK(r[0].gain == Approx(r[0].theory.gain).epsilon(0.03));
  }
  SECTION("relu residual blocks: 1 + the branch's share per block") {
    g.arch = "residual";
    g.acts = {"relu"};
    g.inits = {"he"};
    const auto r = run_sweep(g, cells(g), {}, 2);
    CHECK(r[0].theory_kind == "mean-field residual");
    // relu, σ_w² = 2, no bias: χ = 1 + (1/30)·2·2·½ per block
    CHECK(r[0].theory.gain == Approx(std::sqrt(1 + 2.0 / 30)).epsilon(1e-9));
    CHECK(r[0].gain == Approx(r[0].theory.gain).epsilon(0.02));
    CHECK(r[0].verdict == "stable");
  }
  SECTION("linear rnn, W_rec = s·Q: per-step gain s, Pascanu's bound s") {
    g.arch = "rnn";
    g.acts = {"identity"};
    g.rec_scale = 0.9;
    const auto r = run_sweep(g, cells(g), {}, 2);
    CHECK(r[0].spec.init == "orthogonal");
    CHECK(r[0].gain == Approx(0.9).epsilon(1e-9));
    CHECK(r[0].theory.gain == Approx(0.9).epsilon(1e-9));
    CHECK(r[0].theory_kind == "pascanu bound");
    CHECK(r[0].total_gain == Approx(std::pow(0.9, 29)).epsilon(1e-9));
    CHECK(r[0].rms_dz.size() == 30);
    CHECK(r[0].grad_w_norm.empty());
  }
  SECTION("lstm: no bound") {
    g.arch = "lstm";
    const auto r = run_sweep(g, cells(g), {}, 2);
    CHECK(r[0].theory_kind == "none");
    CHECK(std::isnan(r[0].theory.gain));
    CHECK(r[0].gain > 0);
  }
}

#ifdef __linux__
TEST_CASE("a sweep's default thread count is the cores the process may run on") {
  cpu_set_t all;
  REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0);
  int first = 0;
  while (!CPU_ISSET(first, &all)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);  // as `taskset -c <first>` would
  const unsigned pinned = available_cores();
  REQUIRE(sched_setaffinity(0, sizeof all, &all) == 0);
  CHECK(pinned == 1);
  CHECK(available_cores() == unsigned(CPU_COUNT(&all)));
}
#endif
