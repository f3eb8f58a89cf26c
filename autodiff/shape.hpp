#pragma once
// Shapes of node values: dense matrices of rank 0-2, stored as rows x cols (a scalar is 1x1).
#include <fmt/format.h>

#include <cstdint>

namespace gradscope {

struct Shape {
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;

  std::size_t size() const { return std::size_t{rows} * cols; }
  bool scalar() const { return rows == 1 && cols == 1; }
  friend bool operator==(Shape a, Shape b) { return a.rows == b.rows && a.cols == b.cols; }
  friend bool operator!=(Shape a, Shape b) { return !(a == b); }
};

}  // namespace gradscope

template <>
struct fmt::formatter<gradscope::Shape> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(gradscope::Shape s, Ctx& ctx) const {
    return fmt::format_to(ctx.out(), "{}x{}", s.rows, s.cols);
  }
};
