#pragma once
// Load drivers and CPU clocks for the online benchmark (features_online_benchmark):
// a closed loop at concurrency 1 with per-call latencies (Drive), a closed loop
// with N calls in flight from completion callbacks (DriveAsync), and the CPU
// time of this process or another one. Not thread-safe unless said; benchmark
// code only.

#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace mlops::features::testing {

// CPU time (not wall) of this thread or the whole process, microseconds:
// what a call costs, unaffected by waiting for a core on a loaded machine.
inline double CpuMicros(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

struct Latencies {
  std::vector<double> micros;
  double Percentile(double p) {
    std::sort(micros.begin(), micros.end());
    if (micros.empty()) return 0;
    return micros[std::min(micros.size() - 1, static_cast<size_t>(p * micros.size()))];
  }
};

// Runs `call` back to back for `seconds` (concurrency 1); returns calls
// per second, fills the latencies (if given) and the process's CPU per call.
template <typename Call>
double Drive(double seconds, Latencies* lat, Call call, double* cpu_per_call = nullptr) {
  int64_t calls = 0;
  const double cpu_start = CpuMicros(CLOCK_PROCESS_CPUTIME_ID);
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  for (auto s = t0; calls < 100000000 && s < end; ++calls) {
    if (!call()) std::abort();
    const auto e = std::chrono::steady_clock::now();
    if (lat != nullptr) {
      lat->micros.push_back(std::chrono::duration<double, std::micro>(e - s).count());
    }
    s = e;
  }
  if (cpu_per_call != nullptr) {
    *cpu_per_call = (CpuMicros(CLOCK_PROCESS_CPUTIME_ID) - cpu_start) /
                    static_cast<double>(std::max<int64_t>(1, calls));
  }
  return static_cast<double>(calls) / seconds;
}

// User + system CPU of process `pid` (all its threads, exited ones
// included), microseconds, at clock-tick resolution.
inline double ProcessCpuMicros(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return 0;
  std::vector<std::string> fields;
  std::string field;
  for (size_t i = paren + 2; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == ' ') {
      fields.push_back(field);
      field.clear();
    } else {
      field += line[i];
    }
  }
  // Fields after the name start at 3 (state); utime is 14, stime 15.
  if (fields.size() < 13) return 0;
  const double ticks = std::atof(fields[11].c_str()) + std::atof(fields[12].c_str());
  return ticks * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Closed loop with `inflight` calls outstanding for `seconds`: each chain
// starts its next call from the previous one's completion callback.
// start(done) issues one call and runs done(ok) when it ends. Returns
// calls/s; *cpu_per_call = this process's CPU per call.
template <typename Start>
double DriveAsync(int inflight, double seconds, Start start, double* cpu_per_call) {
  std::atomic<int64_t> calls{0};
  std::atomic<bool> failed{false};
  absl::Mutex mu;
  int running = inflight;
  const double cpu_start = CpuMicros(CLOCK_PROCESS_CPUTIME_ID);
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  std::vector<std::function<void(bool)>> chains(static_cast<size_t>(inflight));
  for (size_t i = 0; i < chains.size(); ++i) {
    chains[i] = [&, i](bool ok) {
      if (!ok) failed = true;
      calls.fetch_add(1);
      if (!failed && std::chrono::steady_clock::now() < end) {
        start(&chains[i]);
      } else {
        absl::MutexLock lock(&mu);
        --running;
      }
    };
  }
  for (auto& chain : chains) start(&chain);
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(+[](int* r) { return *r == 0; }, &running));
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed) std::abort();
  *cpu_per_call = (CpuMicros(CLOCK_PROCESS_CPUTIME_ID) - cpu_start) /
                  static_cast<double>(std::max<int64_t>(1, calls.load()));
  return static_cast<double>(calls.load()) / elapsed;
}

}  // namespace mlops::features::testing
