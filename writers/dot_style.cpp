#include "gradscope/writers/dot_style.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace gradscope::dot {

namespace {

// ColorBrewer RdBu (11 classes), a diverging scale designed for ordered perceptual steps:
// index 5 is the neutral centre, 0 the deepest blue (vanishing), 10 the deepest red (exploding).
constexpr const char* kPalette[11] = {"#053061", "#2166ac", "#4393c3", "#92c5de",
                                      "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582",
                                      "#d6604d", "#b2182b", "#67001f"};
constexpr int kMaxStep = 5;
constexpr double kPow10[kMaxStep] = {1, 10, 100, 1000, 10000};

// A band boundary: powers of ten as 1e-3, 1e2 (how gradients are read), others as numbers.
std::string bound(double x) {
  const double k = std::round(std::log10(x));
  return std::pow(10.0, k) == x ? fmt::format("1e{}", k) : number(x);
}

}  // namespace

double magnitude(const GradSums& s, GradNorm norm) {
  if (s.nan) return std::numeric_limits<double>::quiet_NaN();
  if (s.inf) return std::numeric_limits<double>::infinity();
  switch (norm) {
    case GradNorm::L2:
      return s.l2;
    case GradNorm::Max:
      return s.max_abs;
    case GradNorm::Mean:
      return s.mean_abs;
  }
  return 0.0;
}

const char* norm_name(GradNorm norm) {
  switch (norm) {
    case GradNorm::L2:
      return "l2";
    case GradNorm::Max:
      return "max";
    case GradNorm::Mean:
      return "mean";
  }
  return "";
}

const char* rankdir_name(RankDir r) {
  switch (r) {
    case RankDir::TB:
      return "TB";
    case RankDir::LR:
      return "LR";
    case RankDir::BT:
      return "BT";
    case RankDir::RL:
      return "RL";
  }
  return "TB";
}

int decade_step(double m, const DotOptions& o) {
  int s = 0;
  while (s < kMaxStep && m < o.healthy_low / kPow10[s]) ++s;
  if (s) return -s;
  while (s < kMaxStep && m >= o.healthy_high * kPow10[s]) ++s;
  return s;
}

const char* step_fill(int step) { return kPalette[step + kMaxStep]; }
const char* step_font(int step) { return std::abs(step) >= 4 ? "#ffffff" : "#000000"; }

std::string escape_label(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string dot_value(std::string_view s) {
  const auto alpha = [](char c) { return std::isalpha((unsigned char)c) || c == '_'; };
  const auto digit = [](char c) { return std::isdigit((unsigned char)c) != 0; };
  bool bare = false;
  if (!s.empty() && alpha(s[0])) {
    bare = std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || digit(c); });
    std::string lower(s);
    for (char& c : lower) c = char(std::tolower((unsigned char)c));
    for (const char* keyword : {"node", "edge", "graph", "digraph", "subgraph", "strict"})
      if (lower == keyword) bare = false;
  } else {
    std::string_view n = s.substr(!s.empty() && s[0] == '-');
    const auto point = n.find('.');
    const std::string_view whole = n.substr(0, point),
                           frac = point == n.npos ? std::string_view() : n.substr(point + 1);
    bare = (!whole.empty() || !frac.empty()) && std::all_of(whole.begin(), whole.end(), digit) &&
           std::all_of(frac.begin(), frac.end(), digit);
  }
  return bare ? std::string(s) : quote(s);
}

std::string attributes(const std::vector<std::pair<const char*, const std::string*>>& list) {
  std::string out = " [";
  for (const auto& [name, value] : list)
    out += fmt::format("{}{}={}", out.size() > 2 ? ", " : "", name, dot_value(*value));
  return out + "]";
}

std::string number(double x) { return fmt::format("{:.3g}", x); }

void write_legend(std::ostream& out, const DotOptions& o, bool gradients) {
  struct Entry {
    std::string label, shape, style, fill, font;
  };
  std::vector<Entry> entries;
  if (gradients) {
    for (int s = kMaxStep; s >= -kMaxStep; --s) {
      std::string range;
      if (s == kMaxStep)
        range = fmt::format(">= {}  exploding", bound(o.healthy_high * kPow10[kMaxStep - 1]));
      else if (s == -kMaxStep)
        range = fmt::format("< {}  vanishing", bound(o.healthy_low / kPow10[kMaxStep - 1]));
      else if (s > 0)
        range = fmt::format("[{}, {})", bound(o.healthy_high * kPow10[s - 1]),
                            bound(o.healthy_high * kPow10[s]));
      else if (s < 0)
        range = fmt::format("[{}, {})", bound(o.healthy_low / kPow10[-s]),
                            bound(o.healthy_low / kPow10[-s - 1]));
      else
        range = fmt::format("[{}, {})  healthy", bound(o.healthy_low), bound(o.healthy_high));
      entries.push_back({range, "box", "filled", step_fill(s), step_font(s)});
    }
    entries.push_back({"0: no gradient arrived", "box", "filled,dashed", kZeroFill, "#000000"});
    entries.push_back({"NaN or Inf", "box", "filled,bold", kNonFiniteFill, "#000000"});
    entries.push_back({"constant: no gradient", "box", "filled", kNoGradFill, "#000000"});
  }
  entries.push_back({"parameter", "box3d", "filled", "#ffffff", "#000000"});
  entries.push_back({"input", "invhouse", "filled", "#ffffff", "#000000"});
  entries.push_back({"op", "box", "filled,rounded", "#ffffff", "#000000"});
  entries.push_back({"output", "doubleoctagon", "filled", "#ffffff", "#000000"});
  if (o.collapse)
    entries.push_back({"scope (collapsed)", "folder", "filled", "#ffffff", "#000000"});

  out << "subgraph cluster_legend {\n  label="
      << quote(gradients
                   ? fmt::format("legend: gradient magnitude ({} norm), one colour per decade",
                                 norm_name(o.norm))
                   : std::string("legend"))
      << "; style=\"rounded\"; color=\"#9e9e9e\"; fontcolor=\"#616161\";\n";
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const Entry& e = entries[k];
    out << "  legend_" << k << " [label=" << quote(e.label) << ", shape=" << e.shape
        << ", style=" << quote(e.style) << ", fillcolor=" << quote(e.fill)
        << ", fontcolor=" << quote(e.font) << ", color=" << quote(kBorder) << "];\n";
  }
  // Invisible edges stack the entries in one column (one row with rankdir LR).
  for (std::size_t k = 1; k < entries.size(); ++k)
    out << "  legend_" << k - 1 << " -> legend_" << k << " [style=invis];\n";
  out << "}\n";
}

}  // namespace gradscope::dot
