#pragma once
// The parts of the DOT export (writers/graphviz.hpp) that do not depend on the graph: DOT syntax
// (escaping, quoting, attribute lists), the colour scale that encodes gradient magnitude, and the
// legend that explains it. Only writers/graphviz.cpp uses it.
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gradscope/instruments/grad_stats.hpp"
#include "gradscope/writers/graphviz.hpp"

namespace gradscope::dot {

inline constexpr const char* kNoGradFill = "#e0e0e0";     // constants: no gradient exists
inline constexpr const char* kZeroFill = "#ffffff";       // a gradient exists but is exactly 0
inline constexpr const char* kNonFiniteFill = "#ffff00";  // NaN or Inf: hazard yellow, off the scale
inline constexpr const char* kBorder = "#404040";

// The magnitude a GradNorm gives to a gradient's statistics: NaN or Inf when any entry is.
double magnitude(const GradSums& s, GradNorm norm);
const char* norm_name(GradNorm norm);
const char* rankdir_name(RankDir r);

// Colour step of a finite, non-zero magnitude: 0 inside [healthy_low, healthy_high), -k for k
// decades below (vanishing), +k for k decades above (exploding), saturating at ±5. The boundaries
// are healthy_low / 10^k and healthy_high · 10^k, exactly as the legend prints them.
int decade_step(double m, const DotOptions& o);
const char* step_fill(int step);  // the fill colour of a step
const char* step_font(int step);  // the font colour readable on it

// Graphviz reads backslash escapes in labels (\n, \l, \N); user text must keep its backslashes.
std::string escape_label(std::string_view text);
// A DOT quoted string.
std::string quote(std::string_view text);
// An attribute value: bare when DOT reads it as an identifier or a number and it is no keyword
// (shape=box, penwidth=1.50), quoted otherwise.
std::string dot_value(std::string_view s);
// " [name=value, ...]" of the attributes given, in that order.
std::string attributes(const std::vector<std::pair<const char*, const std::string*>>& list);
// A number as labels show it: three significant digits.
std::string number(double x);

// The legend cluster: the colour scale's decades (when gradients are drawn) and the node shapes.
void write_legend(std::ostream& out, const DotOptions& o, bool gradients);

}  // namespace gradscope::dot
