// `gradscope compare`: the post's hand-derived backward passes checked against autodiff and
// finite differences, node by node, on the post's network.
#include <cmath>
#include <memory>

#include "cli.hpp"

namespace gradscope::cli {

namespace {

json node_json(const models::NodeCheck& n) {
  auto num = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
  return {{"node", n.node},
          {"agrees", n.agrees},
          {"hand_norm", n.hand_norm},
          {"autodiff_norm", n.autodiff_norm},
          {"fd_norm", n.fd_norm},
          {"factor", num(n.factor)},
          {"cosine", num(n.cosine)},
          {"rel_error", num(n.rel_error)},
          {"max_abs_error", n.max_abs_error},
          {"max_rel_error", num(n.max_rel_error)},
          {"fd_max_abs_error", num(n.fd_max_abs_error)},
          {"fd_max_rel_error", num(n.fd_max_rel_error)},
          {"autodiff_fd_rel_error", num(n.autodiff_fd_rel_error)}};
}

// One derivation on its network: the post's ReLU derivation on the ReLU net, the sigmoid ones on
// the sigmoid net, unless --act names another hidden activation.
json run_one(const CompareOptions& o, models::PostDerivation d, const models::Dataset& data,
             Pass& pass) {
  NetworkOptions net_o = o.net;
  const std::string fits = d == models::PostDerivation::Relu ? "relu" : "sigmoid";
  if (net_o.act.empty()) net_o.act = fits;
  auto net = build_network(net_o, data);
  pass.graph.clear();
  pass.forward = net->forward(pass.graph.constant(data.x, "x"));
  pass.loss = models::binary_cross_entropy(pass.forward.output(), pass.graph.constant(data.y, "y"));
  models::CheckOptions co;
  co.rtol = o.rtol;
  co.fd_step = o.fd_step;
  const auto report =
      models::check_derivation(pass.graph, pass.loss, models::post_derivation(d), co);

  const std::string_view name = models::post_derivation_name(d);
  fmt::print(
      "\n{} on the {} net ({} layers x {} units): hand-derived vs autodiff vs central "
      "finite differences\n",
      name, net_o.act, net_o.depth, net_o.width);
  fmt::print("{}", models::format_report(report, name));
  std::size_t fd_off = 0;
  for (const auto& n : report.nodes) fd_off += n.autodiff_fd_rel_error > 1e-3;
  if (fd_off) {
    const bool kinked = net_o.act == "relu" || net_o.act == "leaky_relu";
    fmt::print(
        "note: at {} node(s) central differences differ from autodiff by more than 1e-3 "
        "(relative): {}\n",
        fd_off,
        kinked ? "where a ReLU input is exactly 0 (a unit cut off in a lower layer passes 0 "
                 "upward) differences see the kink's average slope 1/2, autodiff relu'(0) = 0 "
                 "as the post's relu_gradient"
               : "these gradients are so small (< 1e-6) that the differences' rounding noise "
                 "(~1e-16 x loss / step) is a visible share of them");
  }
  json doc = {{"derivation", name},
              {"activation", net_o.act},
              {"derived_for", fits},
              {"agrees", report.agrees()}};
  if (net_o.act != fits)
    fmt::print(
        "note: {} is derived for the {} net, not the {} one ({}): a disagreement here is "
        "expected\n",
        name, fits, net_o.act,
        net_o.act == "relu" || net_o.act == "sigmoid"
            ? std::string("post-relu fits --act relu, the sigmoid ones --act sigmoid")
            : fmt::format("no built-in derivation is for {}", net_o.act));
  doc["first_wrong"] =
      report.first_wrong ? node_json(report.nodes[*report.first_wrong]) : json(nullptr);
  json nodes = json::array();
  for (const auto& n : report.nodes) nodes.push_back(node_json(n));
  doc["nodes"] = nodes;
  doc["layers"] = layers_json(layer_reports(pass, data.samples()));
  return doc;
}

}  // namespace

void run_compare(const CompareOptions& o) {
  require_positive("--rtol", o.rtol);
  require_positive("--fd-step", o.fd_step);
  std::vector<models::PostDerivation> which;
  if (o.derivation == "all")
    which = {models::PostDerivation::Relu, models::PostDerivation::SigmoidAsPublished,
             models::PostDerivation::SigmoidCorrected};
  else
    which = {models::parse_post_derivation(o.derivation)};
  if (!o.net.act.empty()) models::parse_activation(o.net.act);
  Outputs outputs(o.out, o.net);
  const models::Dataset data = make_data(o.net);
  json derivations = json::array();
  Pass pass;
  for (auto d : which) derivations.push_back(run_one(o, d, data, pass));
  NetworkOptions shown = o.net;
  if (shown.act.empty()) shown.act = "relu";  // any valid name; replaced below
  json config = config_json(shown, data);
  config["activation"] = o.net.act.empty() ? json("per derivation") : json(o.net.act);
  config["rtol"] = o.rtol;
  config["fd_step"] = o.fd_step;
  outputs.finish(pass.graph,
                 {{"command", "compare"}, {"config", config}, {"derivations", derivations}});
}

void add_compare(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  auto* cmd = app.add_subcommand(
      "compare",
      "Check the post's hand-derived gradients against autodiff and finite differences. "
      "post-relu is derived for the ReLU net, post-sigmoid and corrected-sigmoid for the sigmoid "
      "net; each runs on its own net unless --act is given. No built-in derivation is for tanh, "
      "leaky_relu or identity: on those nets all of them disagree");
  add_network_options(*cmd, o->net);
  cmd->add_option("--derivation", o->derivation,
                  "post-relu (for --act relu), post-sigmoid (as published) or corrected-sigmoid "
                  "(both for --act sigmoid), or all")
      ->capture_default_str();
  add_decimal_option(*cmd, "--rtol", o->rtol, "relative tolerance for agreement");
  add_decimal_option(*cmd, "--fd-step", o->fd_step, "relative step of the central differences");
  add_output_options(*cmd, o->out);
  cmd->callback([o] { run_compare(*o); });
}

}  // namespace gradscope::cli
