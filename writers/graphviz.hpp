#pragma once
// Graphviz DOT export of a recorded graph, annotated and coloured by gradient magnitude.
//
// Each node shows its name (scope/name), op, shape, a value summary and — after backward — its
// gradient magnitude; the fill colour encodes log10 of that magnitude on ColorBrewer's RdBu
// diverging scale: one colour step per decade outside a healthy band, blue for vanishing, red for
// exploding, neutral inside the band. NaN/Inf get a yellow fill and a double border. Shape tells
// the kind: parameter (box3d), input leaf (invhouse), op (rounded box), output (doubleoctagon),
// collapsed scope (folder). Edges run in data-flow direction (input -> consumer). Scopes become
// clusters; in collapse mode each scope becomes one node carrying its aggregate gradient.
// Node ids are n<index> (s<scope id> for collapsed scopes), so output is stable run to run.
//
// Every node also carries machine-readable attributes name, op, dims, value and (after backward)
// grad, which Graphviz ignores and boost::read_graphviz reads back. Backslashes in names are doubled
// in name, label and tooltip alike (Graphviz reads label and tooltip as escape strings, where '\\'
// is one backslash), so a name ending in one cannot escape the closing quote; a value that is a DOT
// keyword (a node named "node") is quoted. See docs/graphviz.md.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gradscope/autodiff/graph.hpp"

namespace gradscope {

// How a tensor gradient becomes one magnitude (a 1x1 gradient is its absolute value under all).
enum class GradNorm { L2, Max, Mean };
enum class RankDir { TB, LR, BT, RL };

struct DotOptions {
  GradNorm norm = GradNorm::L2;
  bool values = true;           // show the value summary (the scalar, or mean/min/max)
  bool gradients = true;        // show and colour by gradient magnitude, when backward has run
  bool edge_gradients = false;  // label each edge with the gradient flowing back along it;
                                // pen width grows with its log magnitude
  bool collapse = false;        // one node per scope with the scope's aggregate gradient
  bool legend = true;
  RankDir rankdir = RankDir::TB;
  std::optional<std::uint32_t> reaching;  // keep only nodes on a data-flow path to this node
  // Gradient magnitudes in [healthy_low, healthy_high) are drawn neutral; each decade below is one
  // step bluer, each decade above one step redder, saturating four decades out.
  double healthy_low = 1e-2;
  double healthy_high = 1e2;
  std::string title;  // drawn above the graph when non-empty
};

// The magnitude a DotOptions::norm gives to a gradient tensor.
template <class T>
double grad_magnitude(ConstMatrixMap<T> grad, GradNorm norm);

template <class T>
std::string to_dot(const Graph<T>& g, const DotOptions& options = {});

// Writes to_dot(g, options) to path through a temporary file renamed into place, so no half
// written file is left behind; throws Error naming the file on failure.
template <class T>
void write_dot(const Graph<T>& g, const std::string& path, const DotOptions& options = {});

// Renders DOT text with Graphviz's dot into an image of `format` (svg, png or pdf) and returns its
// bytes. dot runs in a private directory on fixed file names (writers/output_set.hpp); Error,
// starting with `what`, when dot is missing, fails, or leaves an incomplete image.
std::string render_dot_text(const std::string& dot_text, const std::string& format,
                            const std::string& what);
// Renders a DOT file into out_path; the format comes from out_path's extension (svg, png or pdf).
// out_path changes only when rendering succeeded.
void render_dot(const std::string& dot_path, const std::string& out_path);
// The images export_dot renders beside a DOT file: its stem with .svg and .png.
std::vector<std::string> rendered_beside(const std::string& dot_path);

struct DotExport {
  std::vector<std::string> files;  // the DOT file, then any renderings
  std::string note;                // how to render by hand, when dot was not found
};

// write_dot, then — when dot is on PATH — SVG and PNG beside it (rendered_beside); otherwise the
// note says which command renders it. All files change together or none does.
template <class T>
DotExport export_dot(const Graph<T>& g, const std::string& dot_path,
                     const DotOptions& options = {});

}  // namespace gradscope
