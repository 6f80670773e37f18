#pragma once
// Helpers shared by the feature service's benchmark binaries (not tests):
// timing, peak RSS, failure printing and a scratch database. Header-only.

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "common/testing/pg_test_db.h"

namespace mlops::features::testing {

// VmHWM of this process (e.g. "  433356 kB"), or "?".
inline std::string PeakRss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return line.substr(6);
  }
  return "?";
}

// Resets this process's VmHWM to its current RSS (Linux >= 4.0), so that a
// later PeakRss() is the peak of what ran in between. False if refused.
inline bool ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return clear.good();
}

inline double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Prints the failure; the exit code 1.
inline int BenchFail(const absl::Status& s) {
  std::fprintf(stderr, "benchmark failed: %s\n", s.ToString().c_str());
  return 1;
}

// Runs `body` with the DSN of a scratch database `name` on MLOPS_TEST_PG_DSN's
// server (dropped afterwards); its exit code, or 2 when the variable is unset.
inline int WithScratchDatabase(const char* name, const std::function<int(const std::string&)>& body) {
  std::optional<std::string> admin = TestPgDsnFromEnv();
  if (!admin.has_value()) {
    std::fprintf(stderr, "set MLOPS_TEST_PG_DSN\n");
    return 2;
  }
  auto db = PgTestDatabase::Create(*admin, name);
  if (!db.ok()) return BenchFail(db.status());
  return body((*db)->dsn());
}

}  // namespace mlops::features::testing
