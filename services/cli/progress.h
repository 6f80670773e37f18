#pragma once
// A one-line progress display on stderr ("\r 120000 rows  45%  98000 rows/s"),
// drawn at most every 200 ms and only when stderr is a terminal. Not
// thread-safe.

#include <chrono>
#include <cstdint>
#include <string>

namespace mlops::cli {

class Progress {
 public:
  // `total_bytes` = 0 when the size is unknown (no percentage then).
  explicit Progress(int64_t total_bytes);

  void Update(int64_t rows, int64_t bytes_read);
  // Clears the line; returns the elapsed seconds since construction.
  double Finish();
  double RowsPerSecond(int64_t rows) const;

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_bytes_;
  bool enabled_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_ = start_;
};

}  // namespace mlops::cli
