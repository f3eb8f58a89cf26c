// `gradscope demo`: the post's first two experiments. One forward and backward pass of the deep
// narrow net on two small Gaussian clusters, and the post's per-layer table of dz, dw and db.
#include <memory>

#include "cli.hpp"

namespace gradscope::cli {

void run_demo(const DemoOptions& o) {
  if (is_recurrent(o.net)) return run_recurrent_demo(o.net, o.rec, o.out);
  Outputs outputs(o.out, o.net);
  const models::Dataset data = make_data(o.net);
  auto net = build_network(o.net, data);
  Pass pass;
  run_pass(*net, data, pass);
  require_finite(pass, "demo");
  const auto layers = layer_reports(pass, data.samples());

  fmt::print("demo: {}, sigmoid output, {} samples, loss {:.10g}\n", describe_network(o.net),
             data.samples(), pass.loss.item());
  fmt::print(
      "dz is d(sum of per-sample losses)/dz for sample 0 (the post's a - y convention, "
      "m x autodiff's mean-loss gradient); dw, db are gradients of the mean loss (the "
      "post's /m). Ratios: each layer's norm over the next layer's.\n");
  print_layer_table(layers);
  json doc = {{"command", "demo"},
              {"config", config_json(o.net, data)},
              {"loss", pass.loss.item()},
              {"dz_convention", "sample 0, multiplied by the number of samples m (post's a - y)"},
              {"layers", layers_json(layers)}};
  const Diagnosis diagnosis = diagnose(pass.graph);
  print_diagnosis(diagnosis, "gradient diagnosis");
  add_diagnosis(doc, diagnosis);
  outputs.finish(pass.graph, doc);
}

void add_demo(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo",
      "One forward/backward pass of the post's deep narrow net; per-layer dz, dw, db. Defaults: "
      "the blog post's first two experiments (w = 0.8*I, 10 points per class around (2,3) and "
      "(7,6); --act sigmoid for the second)");
  add_any_network_options(*cmd, o->net, o->rec);
  add_output_options(*cmd, o->out);
  cmd->callback([o] { run_demo(*o); });
}

}  // namespace gradscope::cli
