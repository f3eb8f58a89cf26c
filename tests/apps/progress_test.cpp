// The progress line's arithmetic, apart from the clock and the terminal.
#include <catch2/catch.hpp>
#include <cstddef>

#include "../../apps/gradscope/progress.hpp"

using gradscope::cli::megabytes;

TEST_CASE("progress: bytes read and their total are megabytes rounded alike, to the nearest") {
  // Rounded up, a 62.6 MB file's total read 63 while the bytes done, rounded down, stopped at 62.
  CHECK(megabytes(62'600'000) == 63);
  CHECK(megabytes(62'499'999) == 62);
  CHECK(megabytes(62'500'000) == 63);
  CHECK(megabytes(999'999) == 1);
  CHECK(megabytes(0) == 0);
  // The same rounding keeps done at or below the total on the way and equal to it at the end.
  const std::size_t total = 62'600'000;
  for (std::size_t done = 0; done <= total; done += 100'000)
    CHECK(megabytes(done) <= megabytes(total));
}
