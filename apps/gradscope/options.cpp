// The options the subcommands share, read strictly, and what they build: the data and the network,
// each after an estimate of its size against this machine's memory.
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "cli.hpp"
#include "progress.hpp"

namespace gradscope::cli {

template <class T>
CLI::Option* add_integer_option(CLI::App& cmd, const std::string& name, T& target,
                                const std::string& help) {
  auto parse = [name, &target](const std::string& text) {
    T value{};
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
    if (ec == std::errc::result_out_of_range ||
        (std::is_unsigned_v<T> && !text.empty() && text[0] == '-'))
      fail("{} {}: out of range ({} to {})", name, text, std::numeric_limits<T>::min(),
           std::numeric_limits<T>::max());
    if (ec != std::errc() || ptr != end)
      fail("{} {}: not a whole number (digits only{}, e.g. {} 1000)", name, text,
           std::is_signed_v<T> ? ", optionally after '-'" : "", name);
    target = value;
  };
  return cmd.add_option_function<std::string>(name, parse, help)
      ->default_str(std::to_string(target))
      ->type_name("INT");
}
template CLI::Option* add_integer_option(CLI::App&, const std::string&, long&, const std::string&);
template CLI::Option* add_integer_option(CLI::App&, const std::string&, std::uint64_t&,
                                         const std::string&);

namespace {
double read_decimal(const std::string& name, const std::string& text) {
  const models::Decimal d = models::parse_decimal(text);
  if (d.status == models::Decimal::NotANumber)
    fail("{} {}: not a decimal number (e.g. {} 0.5 or {} 1e-3)", name, text, name, name);
  if (d.status == models::Decimal::TooSmall)
    fail("{} {}: too small for a double (below 4.9e-324); write 0 for zero", name, text);
  if (!std::isfinite(d.value)) fail("{} {}: not a finite number", name, text);
  return d.value;
}
}  // namespace

CLI::Option* add_decimal_option(CLI::App& cmd, const std::string& name, double& target,
                                const std::string& help) {
  return cmd
      .add_option_function<std::string>(
          name, [name, &target](const std::string& text) { target = read_decimal(name, text); },
          help)
      ->default_str(fmt::format("{}", target))
      ->type_name("FLOAT");
}

CLI::Option* add_decimal_option(CLI::App& cmd, const std::string& name, std::vector<double>& target,
                                const std::string& help) {
  auto parse = [name, &target](const std::vector<std::string>& words) {
    std::vector<double> values;
    for (const auto& w : words) values.push_back(read_decimal(name, w));
    target = values;
  };
  return cmd.add_option_function<std::vector<std::string>>(name, parse, help)
      ->expected(int(target.size()))
      ->default_str(fmt::format("[{}]", fmt::join(target, ",")))
      ->type_name("FLOAT");
}

void add_network_options(CLI::App& cmd, NetworkOptions& o) {
  cmd.add_option("--act", o.act, "hidden activation: relu, leaky_relu, sigmoid, tanh, identity")
      ->capture_default_str();
  add_integer_option(cmd, "--depth", o.depth, "layers, the output layer included");
  add_integer_option(cmd, "--width", o.width, "units per hidden layer");
  auto* scale = add_decimal_option(cmd, "--weight-scale", o.weight_scale,
                                   "hidden weights s*I, output weights all ones (the post's init)");
  cmd.add_option("--init", o.init,
                 "named initialiser for all layers instead of the scaled identity: zeros, "
                 "identity, uniform, normal, xavier (glorot), xavier_normal (glorot_normal), he "
                 "(kaiming), he_uniform (kaiming_uniform), orthogonal")
      ->excludes(scale);
  add_integer_option(cmd, "--samples", o.samples, "generated points per class");
  add_decimal_option(cmd, "--mean0", o.mean0, "mean of class 0 (two numbers)");
  add_decimal_option(cmd, "--mean1", o.mean1, "mean of class 1 (two numbers)");
  add_integer_option(cmd, "--seed", o.seed, "seed of the data generator and random initialisers");
  cmd.add_option("--data", o.data,
                 "CSV file of points to use instead of generated ones: header row, feature "
                 "columns, last column the 0/1 label");
}

void add_architecture_options(CLI::App& cmd, std::string& arch, std::string& norm) {
  cmd.add_option("--arch", arch,
                 "mlp (a plain stack of layers), residual (residual blocks a + W2 act(W1 a + b1) "
                 "+ b2), or rnn or lstm (a recurrent cell unrolled over time steps)")
      ->capture_default_str();
  cmd.add_option(
         "--norm", norm,
         "none, or layer: each hidden layer's (each block branch's) W a + b layer-normalised "
         "before its activation")
      ->capture_default_str();
}

void add_any_network_options(CLI::App& cmd, NetworkOptions& net, RecurrentOptions& rec) {
  add_network_options(cmd, net);
  add_architecture_options(cmd, net.arch, net.norm);
  add_recurrent_options(cmd, rec);
}

void add_output_options(CLI::App& cmd, OutputOptions& o) {
  cmd.add_option("--json", o.json,
                 "write the configuration and per-layer results as JSON ('-': standard output)");
  cmd.add_option("--dot", o.dot,
                 "write the graph of the pass as Graphviz DOT (.dot or .gv; '-': standard "
                 "output), annotated and coloured by gradient magnitude; with Graphviz installed "
                 "and without --svg, also FILE's .svg and .png");
  cmd.add_option("--svg", o.svg, "render the graph to this SVG file (needs Graphviz's dot)");
  cmd.add_flag("--collapse", o.collapse, "graph: one node per layer");
  cmd.add_option("--grad-norm", o.grad_norm,
                 "graph: magnitude of a tensor gradient: l2, max or mean")
      ->check(CLI::IsMember({"l2", "max", "mean"}))
      ->default_str("l2");
  add_wide_option(cmd, o.wide);
}

void add_wide_option(CLI::App& cmd, bool& wide) {
  cmd.add_flag("--wide", wide, "tables as wide as their content (default: fit 100 columns)");
}

void require_positive(const char* option, double x) {
  if (!std::isfinite(x) || x <= 0) fail("{} must be a finite number > 0, got {}", option, x);
}

namespace {
thread_local std::string building_what;

std::string bytes_text(long double bytes) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  int u = 0;
  while (bytes >= 1000 && u < 8) bytes /= 1000, ++u;
  return u == 0 ? fmt::format("{:.0f} bytes", double(bytes))
                : fmt::format("{:.3g} {}", double(bytes), units[u]);
}

// The limits that make an allocation fail while the machine has memory, with the line of
// /proc/self/status that counts what each limits: the address space under RLIMIT_AS (what a
// sanitizer reserves counts too, but it runs without such limits), the heap under RLIMIT_DATA.
constexpr std::pair<int, std::string_view> kMemoryLimits[] = {{RLIMIT_AS, "VmSize:"},
                                                              {RLIMIT_DATA, "VmData:"}};

// The memory this process may use: the machine's, or less under a ulimit.
long double memory_limit() {
  long double limit = (long double)(::sysconf(_SC_PHYS_PAGES)) * ::sysconf(_SC_PAGESIZE);
  for (const auto& [resource, field] : kMemoryLimits) {
    struct rlimit r {};
    if (::getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
      limit = std::min(limit, (long double)r.rlim_cur);
  }
  return limit;
}

}  // namespace

void require_memory(const std::string& what, const std::string& part, long double bytes) {
  if (bytes > memory_limit())
    fail("{}: {} would need {}, more than the {} of memory this process may use", what, part,
         bytes_text(bytes), bytes_text(memory_limit()));
}

void require_memory(const std::string& what, const models::ReadState& read) {
  require_memory(what, fmt::format("the {} read so far", bytes_text(read.bytes_read)),
                 read.bytes_needed);
}

Building::Building(std::string what)
    : previous_(std::move(building_what)), exceptions_(std::uncaught_exceptions()) {
  building_what = std::move(what);
}
Building::~Building() {
  // Unwound by an exception: what was being built stays, for the error message.
  if (std::uncaught_exceptions() == exceptions_) building_what = std::move(previous_);
}
const std::string& Building::current() { return building_what; }

void require_room(long double bytes) {
  for (const auto& [resource, field] : kMemoryLimits) {
    struct rlimit r {};
    if (::getrlimit(resource, &r) != 0 || r.rlim_cur == RLIM_INFINITY) continue;
    std::ifstream status("/proc/self/status");
    long double kib = 0;
    for (std::string line; std::getline(status, line);)
      if (line.rfind(field, 0) == 0) kib = std::stold(line.substr(field.size()));
    if (1024 * kib + bytes > (long double)(r.rlim_cur)) throw std::bad_alloc();
  }
}

namespace {
// load_csv with progress on stderr once the file has taken kQuietFor (a small file prints
// nothing), stopped once it would outgrow memory (a stream that does not end).
constexpr auto kQuietFor = std::chrono::seconds(2);
models::Dataset read_data_file(const std::string& path) {
  std::optional<Progress> progress;  // from the first block, which tells the file's size
  models::Dataset data = models::load_csv(path, [&](const models::ReadState& p) {
    require_memory("--data " + printable_path(path), p);
    if (!progress)
      progress.emplace("reading " + printable_path(path), megabytes(p.bytes_total), "MB",
                       kQuietFor);
    progress->update(megabytes(p.bytes_read));
  });
  if (progress) progress->finish();
  return data;
}
}  // namespace

models::Dataset make_data(const NetworkOptions& o) {
  if (!o.data.empty()) {
    Building b("reading the data file " + printable_path(o.data));
    return read_data_file(o.data);
  }
  if (o.samples < 1) fail("--samples must be at least 1, got {}", o.samples);
  // Each sample: two features and a label, generated and then copied into the dataset.
  const long double bytes = 2.0L * o.samples * 3 * sizeof(double) * 2;
  require_memory(fmt::format("--samples {}", o.samples), "the data alone", bytes);
  Building b(fmt::format("generating the data (--samples {})", o.samples));
  models::TwoGaussians spec;
  spec.mean0 = Eigen::Vector2d(o.mean0[0], o.mean0[1]);
  spec.mean1 = Eigen::Vector2d(o.mean1[0], o.mean1[1]);
  spec.per_class = o.samples;
  spec.seed = o.seed;
  return models::two_gaussians(spec);
}

models::PostNetworkSpec network_spec(const NetworkOptions& o, Eigen::Index inputs) {
  if (o.depth < 1) fail("--depth must be at least 1, got {}", o.depth);
  if (o.width < 1) fail("--width must be at least 1, got {}", o.width);
  models::PostNetworkSpec s;
  s.inputs = inputs;
  s.depth = std::size_t(o.depth);
  s.width = o.width;
  s.hidden = models::parse_activation(o.act);
  s.output = models::Activation::Sigmoid;
  if (o.init.empty()) {
    s.hidden_init = models::Init::scaled_identity(o.weight_scale);
    s.output_init = models::Init::constant(1);
  } else {
    s.hidden_init = s.output_init = models::parse_init(o.init);
  }
  s.norm = models::parse_norm(o.norm);
  s.seed = o.seed;
  return s;
}

namespace {
using NetworkPtr = std::unique_ptr<models::Network<double>>;

NetworkPtr build_mlp(const models::PostNetworkSpec& s) {
  return std::make_unique<models::Mlp<double>>(models::post_network<double>(s));
}
NetworkPtr build_residual(const models::PostNetworkSpec& s) {
  return std::make_unique<models::ResidualMlp<double>>(s);
}

// Each --arch: its name, the width x width weight matrices one hidden unit holds (for the memory
// estimate) and how it is built from the post network's spec.
struct Architecture {
  std::string_view name;
  int hidden_matrices;
  NetworkPtr (*build)(const models::PostNetworkSpec&);
};
constexpr Architecture kArchitectures[] = {{"mlp", 1, build_mlp}, {"residual", 2, build_residual}};

const Architecture& architecture(const std::string& name) {
  for (const Architecture& a : kArchitectures)
    if (a.name == name) return a;
  std::string names;
  for (const Architecture& a : kArchitectures)
    names += fmt::format("{}{}", names.empty() ? "" : ", ", a.name);
  fail("--arch {}: unknown architecture (expected one of {}, rnn or lstm)", printable_path(name),
       names);
}
}  // namespace

bool is_recurrent(const NetworkOptions& o) { return o.arch == "rnn" || o.arch == "lstm"; }

std::string describe_network(const NetworkOptions& o) {
  std::string s = fmt::format("{} layers x {} units, {} hidden", o.depth, o.width, o.act);
  if (o.arch == "residual") s += fmt::format(", residual (blocks 2..{})", o.depth - 1);
  if (o.norm == "layer") s += ", layer norm";
  return s;
}

std::unique_ptr<models::Network<double>> build_network(const NetworkOptions& o,
                                                       const models::Dataset& data) {
  const Architecture& arch = architecture(o.arch);
  const auto spec = network_spec(o, data.features());
  // Parameters: the first layer inputs x width, the hidden ones width x width (a residual block
  // two of them), the output width x 1, each with its bias; each is held as value, gradient and up
  // to two optimiser moments. A pass keeps about six width x samples matrices per layer (z, a,
  // their gradients, products).
  const long double d = o.depth, w = o.width, n = data.samples(), in = data.features();
  const long double params =
      o.depth == 1 ? in + 1 : in * w + w + (d - 2) * arch.hidden_matrices * (w * w + w) + w + 1;
  const std::string shape = fmt::format("--depth {} --width {}", o.depth, o.width);
  const long double weights = params * sizeof(double);
  require_memory(shape, "the weights alone", 4 * weights);
  const long double pass = 4 * weights + 6 * d * w * n * sizeof(double);
  require_memory(fmt::format("{} on {} samples", shape, data.samples()), "one pass", pass);
  Building b("building the network (" + shape + ")");
  return arch.build(spec);
}

}  // namespace gradscope::cli
