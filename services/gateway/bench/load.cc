#include "services/gateway/bench/load.h"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace mlops::gateway::bench {
namespace {

double ThreadCpu() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double ProcessCpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + 1e-6 * static_cast<double>(tv.tv_usec); };
  return s(u.ru_utime) + s(u.ru_stime);
}

// utime + stime of `pid` from /proc/<pid>/stat (0 when unreadable).
double ChildCpu(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  const std::size_t close = line.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15: utime, stime
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The CPU of all of `children`.
double ChildrenCpu(const std::vector<pid_t>& children) {
  double sum = 0;
  for (pid_t pid : children) sum += ChildCpu(pid);
  return sum;
}

}  // namespace

namespace {

// The figures of `lat` (per slot or thread) over `wall_s`.
void Summarize(std::vector<std::vector<double>>& lat, long failed, Figures& f) {
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  if (all.empty() || f.wall_s <= 0) return;
  std::sort(all.begin(), all.end());
  f.p50_ms = all[all.size() / 2];
  f.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  f.p99_median_of_runs_ms = f.p99_ms;
  f.failed = failed;
  f.ok = static_cast<long>(all.size()) - f.failed;
  f.rps = static_cast<double>(all.size()) / f.wall_s;
  f.latencies_ms = std::move(all);
}

// The shared state of one RunAsync: `concurrency` chains of calls.
struct AsyncRun {
  const AsyncCall* call = nullptr;
  long total = 0;
  std::chrono::steady_clock::time_point stop;
  std::atomic<long> next{0};
  std::atomic<long> failed{0};
  std::vector<std::vector<double>> lat;  // per chain; one call of a chain at a time
  std::mutex mu;
  std::condition_variable cv;
  int active = 0;  // chains not finished (guarded by mu)

  // Starts the next call of `chain`, or ends the chain.
  void Next(int chain) {
    if (next.fetch_add(1) >= total || std::chrono::steady_clock::now() >= stop) {
      std::lock_guard<std::mutex> lock(mu);
      if (--active == 0) cv.notify_all();
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    (*call)([this, chain, t0](bool ok) {
      if (!ok) ++failed;
      lat[static_cast<std::size_t>(chain)].push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      Next(chain);
    });
  }
};

}  // namespace

Figures Run(int concurrency, long total, double seconds, const std::function<bool()>& call,
            const std::vector<pid_t>& children) {
  std::atomic<long> next{0};
  std::atomic<long> failed{0};
  std::vector<std::vector<double>> lat(concurrency);
  std::vector<double> cpu(concurrency, 0);
  const double process0 = ProcessCpu();
  const double child0 = ChildrenCpu(children);
  const auto start = std::chrono::steady_clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      const double cpu0 = ThreadCpu();
      lat[t].reserve(static_cast<std::size_t>(total / concurrency + 1));
      while (next.fetch_add(1) < total && std::chrono::steady_clock::now() < stop) {
        const auto t0 = std::chrono::steady_clock::now();
        if (!call()) ++failed;
        lat[t].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      cpu[t] = ThreadCpu() - cpu0;
    });
  }
  for (std::thread& th : threads) th.join();
  Figures f;
  f.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  f.process_cpu_s = ProcessCpu() - process0;
  f.child_cpu_s = ChildrenCpu(children) - child0;
  for (double c : cpu) f.client_cpu_s += c;
  Summarize(lat, failed.load(), f);
  return f;
}

Figures RunAsync(int concurrency, long total, double seconds, const AsyncCall& call,
                 const std::vector<pid_t>& children) {
  AsyncRun run;
  run.call = &call;
  run.total = total;
  run.lat.resize(static_cast<std::size_t>(concurrency));
  for (auto& v : run.lat) v.reserve(static_cast<std::size_t>(total / concurrency + 1));
  run.active = concurrency;
  const double process0 = ProcessCpu();
  const double child0 = ChildrenCpu(children);
  const auto start = std::chrono::steady_clock::now();
  run.stop = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(seconds));
  for (int c = 0; c < concurrency; ++c) run.Next(c);
  {
    std::unique_lock<std::mutex> lock(run.mu);
    run.cv.wait(lock, [&] { return run.active == 0; });
  }
  Figures f;
  f.client_threads = false;
  f.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  f.process_cpu_s = ProcessCpu() - process0;
  f.child_cpu_s = ChildrenCpu(children) - child0;
  Summarize(run.lat, run.failed.load(), f);
  return f;
}

Figures Merge(const std::vector<Figures>& runs) {
  Figures f;
  for (const Figures& r : runs) {
    f.ok += r.ok;
    f.failed += r.failed;
    f.wall_s += r.wall_s;
    f.client_cpu_s += r.client_cpu_s;
    f.client_threads = f.client_threads && r.client_threads;
    f.process_cpu_s += r.process_cpu_s;
    f.child_cpu_s += r.child_cpu_s;
    f.latencies_ms.insert(f.latencies_ms.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  std::vector<double>& all = f.latencies_ms;
  if (all.empty() || f.wall_s <= 0) return f;
  std::sort(all.begin(), all.end());
  f.p50_ms = all[all.size() / 2];
  f.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  f.rps = static_cast<double>(all.size()) / f.wall_s;
  std::vector<double> p99s;
  for (const Figures& r : runs) {
    if (!r.latencies_ms.empty()) p99s.push_back(r.p99_ms);
  }
  std::sort(p99s.begin(), p99s.end());
  f.runs = static_cast<int>(p99s.size());
  f.p99_median_of_runs_ms = p99s[p99s.size() / 2];
  return f;
}

void Print(const std::string& what, int concurrency, const Figures& f) {
  const double w = f.wall_s > 0 ? f.wall_s : 1;
  const std::string client =
      f.client_threads ? std::to_string(f.client_cpu_s / w).substr(0, 4) : std::string("n/a");
  std::printf(
      "%-40s c=%-3d p50 %.3f ms  p99 %.3f ms  %8.0f req/s  (%ld ok, %ld failed)  cores: client "
      "%s, process %.2f, servers' processes %.2f\n",
      what.c_str(), concurrency, f.p50_ms, f.p99_ms, f.rps, f.ok, f.failed, client.c_str(),
      f.process_cpu_s / w, f.child_cpu_s / w);
  if (f.runs > 1) {
    std::printf("%-40s       p99 %.3f ms, the median of %d rounds' p99s\n", "", f.p99_median_of_runs_ms,
                f.runs);
  }
  std::fflush(stdout);
}

}  // namespace mlops::gateway::bench
