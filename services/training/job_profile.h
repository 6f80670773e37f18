#pragma once
// Where a job's time goes: named phases, each with wall seconds and the
// calling thread's CPU seconds (on a shared machine the CPU figure is the
// one that does not include other processes' load). PhaseClock measures one
// phase; JobProfile adds phases up and renders them for the
// training_job_profile log line (and training_job_benchmark). Plain values;
// not synchronized: each thread keeps its own and they are merged.

#include <chrono>
#include <ctime>
#include <map>
#include <string>

#include "absl/strings/str_format.h"

namespace mlops::training {

struct PhaseTime {
  double wall = 0;
  double cpu = 0;
};

// CPU seconds of the calling thread so far.
inline double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Started at construction; Lap() returns the time since the last lap (or
// the start) and restarts.
class PhaseClock {
 public:
  PhaseClock() : wall_(std::chrono::steady_clock::now()), cpu_(ThreadCpuSeconds()) {}
  PhaseTime Lap() {
    const auto wall = std::chrono::steady_clock::now();
    const double cpu = ThreadCpuSeconds();
    PhaseTime t{std::chrono::duration<double>(wall - wall_).count(), cpu - cpu_};
    wall_ = wall;
    cpu_ = cpu;
    return t;
  }

 private:
  std::chrono::steady_clock::time_point wall_;
  double cpu_;
};

class JobProfile {
 public:
  void Add(const std::string& phase, PhaseTime t) {
    PhaseTime& p = phases_[phase];
    p.wall += t.wall;
    p.cpu += t.cpu;
  }
  void Merge(const JobProfile& other) {
    for (const auto& [k, v] : other.phases_) Add(k, v);
  }
  const std::map<std::string, PhaseTime>& phases() const { return phases_; }
  // "boost=12.10/11.90 fetch=0.80/0.75 ..." (wall/cpu seconds).
  std::string ToString() const {
    std::string out;
    for (const auto& [k, v] : phases_) {
      absl::StrAppendFormat(&out, "%s%s=%.2f/%.2f", out.empty() ? "" : " ", k, v.wall, v.cpu);
    }
    return out;
  }

 private:
  std::map<std::string, PhaseTime> phases_;
};

}  // namespace mlops::training
