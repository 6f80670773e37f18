#pragma once
// A closed-loop load generator for the gateway benchmark: `concurrency`
// calls in flight, each started again when it completes, until a request
// count or a time limit is reached. Run: one thread per call, each making
// blocking calls (records the CPU time those threads used: the client's
// share of the machine). RunAsync: gRPC's callback client API, no thread of
// its own (completions run on gRPC's threads, so the client's CPU is not
// separable from the in-process servers'). Both record every call's latency
// and the whole process's and the server child processes' CPU.
// Stateless functions; thread-safe.

#include <functional>
#include <string>
#include <vector>
#include <sys/types.h>

namespace mlops::gateway::bench {

struct Figures {
  double p50_ms = 0, p99_ms = 0, rps = 0;
  // Merge: the median of the runs' own p99s (the figures are
  // medians of 5 runs); a single run: its p99.
  double p99_median_of_runs_ms = 0;
  int runs = 1;
  long ok = 0, failed = 0;
  double wall_s = 0;
  double client_cpu_s = 0;   // CPU of the load threads (the client's own work); Run only
  bool client_threads = true;  // false: RunAsync (client_cpu_s not measured)
  double process_cpu_s = 0;  // CPU of this whole process (client + in-process servers)
  double child_cpu_s = 0;    // CPU of `children` (the servers' processes), 0 if none
  std::vector<double> latencies_ms;  // sorted
};

// Several runs as one: latencies pooled, counts, wall and CPU times summed;
// also the median of the runs' p99s.
Figures Merge(const std::vector<Figures>& runs);

// Runs `call` (true = success) until `total` calls or `seconds` passed.
// `children`: processes whose CPU time to report (the line's servers).
Figures Run(int concurrency, long total, double seconds, const std::function<bool()>& call,
            const std::vector<pid_t>& children = {});

// Starts one call; the callee calls `done(success)` exactly once, on any
// thread, when it completes.
using AsyncCall = std::function<void(std::function<void(bool)> done)>;

// As Run, with `concurrency` asynchronous calls in flight.
Figures RunAsync(int concurrency, long total, double seconds, const AsyncCall& call,
                 const std::vector<pid_t>& children = {});

// One line: what, concurrency, p50, p99, req/s, failures and the CPU shares
// (cores used on average: client threads, this process, the server children);
// after a Merge of several runs, also the median of their p99s.
void Print(const std::string& what, int concurrency, const Figures& f);

}  // namespace mlops::gateway::bench
