#include "gradscope/writers/printable.hpp"

#include <fmt/format.h>

namespace gradscope {

namespace {
// The length of the valid UTF-8 sequence at s[i] of a printable character (U+00A0 and above, less
// the line separators and the bidirectional controls that reorder a terminal's line), or 0.
std::size_t printable_utf8(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return (unsigned char)s[i + k]; };
  const unsigned char c = b(0);
  const std::size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (n == 0 || c > 0xf4 || i + n > s.size()) return 0;
  char32_t cp = c & (0x7f >> n);
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b(k) & 0x3f);
  }
  const char32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;  // not UTF-8
  if (cp < 0xa0 || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return 0;
  return n;
}
}  // namespace

std::string printable_path(std::string_view path) {
  std::string out;
  for (std::size_t i = 0; i < path.size();) {
    const unsigned char c = (unsigned char)path[i];
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
      ++i;
    } else if (const std::size_t n = c >= 0x80 ? printable_utf8(path, i) : 0) {
      out.append(path.substr(i, n));
      i += n;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

}  // namespace gradscope
