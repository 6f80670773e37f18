#include "services/cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace mlops::cli {

Progress::Progress(int64_t total_bytes)
    : total_bytes_(total_bytes), enabled_(isatty(STDERR_FILENO) == 1) {}

void Progress::Update(int64_t rows, int64_t bytes_read) {
  if (!enabled_) return;
  const Clock::time_point now = Clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  if (total_bytes_ > 0) {
    const int percent = static_cast<int>(100 * bytes_read / total_bytes_);
    const int filled = percent / 5;
    std::fprintf(stderr, "\r[%-20s] %3d%%  %lld rows  %.0f rows/s ", std::string(filled, '#').c_str(),
                 percent, static_cast<long long>(rows), RowsPerSecond(rows));
  } else {
    std::fprintf(stderr, "\r%lld rows  %.0f rows/s ", static_cast<long long>(rows),
                 RowsPerSecond(rows));
  }
  std::fflush(stderr);
}

double Progress::Finish() {
  if (enabled_) std::fprintf(stderr, "\r%60s\r", "");
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

double Progress::RowsPerSecond(int64_t rows) const {
  const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  return seconds > 0 ? static_cast<double>(rows) / seconds : 0;
}

}  // namespace mlops::cli
