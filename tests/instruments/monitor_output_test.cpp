// GradientMonitor over time and in files: its history, the CSV and JSON writers, logging.
#include <gradscope/instruments/monitor.hpp>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "layer_stack.hpp"
#include "monitor_testing.hpp"

using namespace gradscope;
using namespace gradscope::testing;

#if GRADSCOPE_HOOKS  // the monitor is an observer

TEST_CASE("history: every k-th pass, decimated when full, bounded over 50,000 iterations",
          "[monitor][history]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(10, 0.8, "relu", "sigmoid");
  auto opt = quiet();
  opt.history_every = 5;
  opt.history_capacity = 64;
  GradientMonitor<double> monitor(opt);
  Graph<double> g;
  g.add_observer(monitor);
  std::size_t bytes_at_5000 = 0;
  for (int it = 1; it <= 50000; ++it) {
    g.clear();
    g.backward(bce(net.forward(g, p.x), g.constant(p.y, "y")));
    if (it == 20) {  // 4 entries: passes 5, 10, 15, 20
      REQUIRE(monitor.history().size() == 4);
      CHECK(monitor.history()[0].pass == 5);
      CHECK(monitor.history()[3].pass == 20);
      CHECK(monitor.history()[3].measured_gain == Approx(0.8));
      const auto& units = monitor.history()[3].units;
      REQUIRE(units.size() == 10);
      // Per unit and kind: dL/dz, dL/da, dL/dW, dL/db of layer 4, as the last pass measured them.
      CHECK(monitor.scope_names()[units[3].scope] == "layer4");
      CHECK(units[3].gain == Approx(0.8));
      for (auto [kind, name] : {std::pair{GradKind::Z, "layer4/z"}, {GradKind::A, "layer4/a"},
                                {GradKind::W, "layer4/w"}, {GradKind::B, "layer4/b"}}) {
        INFO(name);
        const GradStats& s = units[3].kind[std::size_t(kind)];
        bool found = false;
        for (const auto& r : monitor.nodes())
          if (r.name == name) {
            found = true;
            CHECK(s.l2 == r.stats.l2);
            CHECK(s.elements == r.stats.elements);
          }
        CHECK(found);
      }
    }
    if (it == 5000) bytes_at_5000 = monitor.memory_bytes();
  }
  const auto& h = monitor.history();
  CHECK(h.size() <= 64);
  CHECK(h.size() >= 32);
  // k doubled each time the history filled; the first entry is kept, the others stay evenly
  // spaced from the start.
  const auto k = monitor.history_every();
  CHECK(k > 5);
  CHECK(k % 5 == 0);
  CHECK(h[0].pass == 5);
  for (std::size_t i = 1; i < h.size(); ++i) CHECK(h[i].pass == i * k);
  CHECK(monitor.memory_bytes() == bytes_at_5000);
}

// A unit's node that backward does not reach in a pass (here a weight recorded under no_grad, at
// the index where the pass before had one with a gradient) has no statistics in that pass's entry.
TEST_CASE("history: a unit's node not reached in a pass has no statistics in its entry",
          "[monitor][history]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(6, 0.8, "relu", "sigmoid");
  GradientMonitor<double> monitor(quiet());
  Graph<double> g;
  g.add_observer(monitor);
  for (bool frozen : {false, true}) {
    g.clear();
    auto a = g.constant(p.x, "x");
    for (int l = 1; l <= net.depth(); ++l) {
      auto s = g.scope("layer" + std::to_string(l));
      auto w = [&] {
        if (!(frozen && l == 3)) return g.param(net.w[std::size_t(l - 1)]);
        auto off = g.no_grad();
        return g.param(net.w[std::size_t(l - 1)]);
      }();
      auto z = matmul(transpose(w), a) + g.param(net.b[std::size_t(l - 1)]);
      a = l < net.depth() ? relu(z) : sigmoid(z);
    }
    g.backward(bce(a, g.constant(p.y, "y")));
    REQUIRE(monitor.history().size() == (frozen ? 2u : 1u));
    const UnitHistory& unit3 = monitor.history().back().units.at(2);
    INFO(frozen);
    CHECK((unit3.kind[std::size_t(GradKind::W)].elements == 0) == frozen);
    CHECK(unit3.kind[std::size_t(GradKind::Z)].elements == 40);  // 2 units x 20 points
  }
}

TEST_CASE("CSV and JSON writers", "[monitor][io]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(10, 0.8, "relu", "sigmoid");
  GradientMonitor<double> monitor(quiet());
  Graph<double> g;
  g.add_observer(monitor);
  for (int it = 0; it < 3; ++it) {
    g.clear();
    g.backward(bce(net.forward(g, p.x), g.constant(p.y, "y")));
  }
  const auto csv = temp_path("history.csv"), json = temp_path("gradients.json");
  monitor.write_csv(csv);
  monitor.write_json(json);
  CHECK_FALSE(std::filesystem::exists(csv + ".tmp"));

  std::ifstream c(csv);
  std::string line;
  std::getline(c, line);
  CHECK(line == "pass,unit,kind,elements,l2,rms,max_abs,mean_abs,zero_share,nonfinite,gain,"
                "theory_gain,verdict");
  // Per pass: the network's row, then dz, da, dW and db of each of the 10 layers.
  std::vector<std::string> rows;
  while (std::getline(c, line)) rows.push_back(line);
  REQUIRE(rows.size() == 3 * (1 + 10 * 4));
  CHECK(rows[0].rfind("1,network,,,,,,,,,0.8", 0) == 0);
  CHECK_THAT(rows[0], Catch::EndsWith(",vanishing"));
  CHECK(rows[1].rfind("1,layer1,dz,", 0) == 0);
  // The gain, column 11, in full precision: 0.8 up to the sums' rounding.
  std::size_t gain_at = 0;
  for (int comma = 0; comma < 10; ++comma) gain_at = rows[1].find(',', gain_at) + 1;
  CHECK(std::stod(rows[1].substr(gain_at)) == Approx(0.8).epsilon(1e-14));
  CHECK(rows[2].rfind("1,layer1,da,", 0) == 0);
  CHECK_THAT(rows[2], Catch::EndsWith(",,,"));  // gain, theory and verdict only on the dz row
  CHECK(rows[3].rfind("1,layer1,dW,", 0) == 0);
  CHECK(rows[4].rfind("1,layer1,db,", 0) == 0);  // the bias, found from the structure

  std::ifstream j(json);
  const auto doc = nlohmann::json::parse(j);
  CHECK(doc.at("passes") == 3);
  CHECK(doc.at("history").size() == 3);
  CHECK(doc.at("last").at("nodes").size() == monitor.nodes().size());
  CHECK(doc.at("last").at("nodes")[0].at("name") == monitor.nodes()[0].name);
  CHECK(doc.at("last").at("diagnosis").at("verdict") == "vanishing");
  CHECK(doc.at("last").at("diagnosis").at("measured_gain").get<double>() == Approx(0.8));
  std::remove(csv.c_str());
  std::remove(json.c_str());

  // A path that cannot be written: a clear Error, and nothing left behind.
  const std::string bad = temp_path("no_such_dir/x.json");
  CHECK_THROWS_WITH(monitor.write_json(bad), Catch::Contains("cannot write '" + bad + "'"));
  CHECK_FALSE(std::filesystem::exists(bad + ".tmp"));
}

TEST_CASE("logging: debug per node, info on the first and every summary_every-th pass, warn once per "
          "change", "[monitor][log]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(10, 0.8, "relu", "sigmoid");
  CapturedLog log(spdlog::level::debug);
  GradientMonitor<double> monitor(log.options());
  Graph<double> g;
  g.add_observer(monitor);
  for (int it = 0; it < 3; ++it) {
    g.clear();
    g.backward(bce(net.forward(g, p.x), g.constant(p.y, "y")));
  }
  CHECK(log.count("[debug] ") == int(3 * monitor.nodes().size()));
  CHECK(log.count("[debug] layer3/z ") == 3);
  CHECK(log.count("[info] backward ") == 1);
  CHECK(log.count("[info] backward 1: ") == 1);
  // The root's gradient is not reported as the largest.
  CHECK(log.count("largest rms below the root") == 1);
  // Layers 1..8 shrink by 0.8 (< 0.85): one warning each and one for the network, on pass 1 only.
  CHECK(log.count("[warning] ") == 9);
  CHECK(log.count("[warning] layer1: gradient vanishing (trend 0.8 per layer around unit 1") == 1);
  CHECK(log.count("[warning] network: gain 0.8 per layer") == 1);

  // A file sink: the same lines land in the file.
  const auto path = temp_path("monitor.log");
  {
    MonitorOptions to_file;
    to_file.logger = file_logger(path);
    GradientMonitor<double> m2(to_file);
    Graph<double> g2;
    g2.add_observer(m2);
    g2.backward(bce(net.forward(g2, p.x), g2.constant(p.y, "y")));
    to_file.logger->flush();
  }
  std::ifstream f(path);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Catch::Contains("backward 1: "));
  CHECK_THAT(text, Catch::Contains("network: gain 0.8 per layer"));
  std::remove(path.c_str());
}

TEST_CASE("2,000 training steps with the default monitor log a few lines", "[monitor][log]") {
  const auto p = post_points(10, 7, 6, 7);
  auto net = post_net(10, 0.8, "relu", "sigmoid");
  CapturedLog log(spdlog::level::info);  // spdlog's default level
  GradientMonitor<double> monitor(log.options());
  Graph<double> g;
  g.add_observer(monitor);
  for (int it = 0; it < 2000; ++it) {
    g.clear();
    g.backward(bce(net.forward(g, p.x), g.constant(p.y, "y")));
  }
  const std::string text = log.text.str();
  const auto lines = std::count(text.begin(), text.end(), '\n');
  CHECK(lines >= 3);  // the first pass's summary, the one at 1000, the one at 2000
  CHECK(lines <= 36);
}

#endif
