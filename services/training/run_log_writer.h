#pragma once
// RunLogWriter: streams one run's output lines into a RunLogStore while the
// program runs. Lines are buffered and appended in batches: at once when
// `batch_lines` are waiting, else when FlushIfDue() finds the oldest waiting
// line older than `flush_interval` (the command trial calls it from its
// stop poll, about every 100 ms), and at Flush(). At most `max_lines` lines
// are stored per run; past that, one "system" line says so (the whole tail
// of the output is still kept in the logs/*.txt artifacts). A store error
// is logged and those lines are dropped: output streaming never fails a
// trial. `on_flush` (may be null) is called after each stored batch, to wake
// watchers. Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/training/run_log_store.h"

namespace mlops::training {

struct RunLogWriterOptions {
  std::size_t batch_lines = 256;
  std::chrono::milliseconds flush_interval{200};
  int64_t max_lines = 100000;
};

class RunLogWriter {
 public:
  using Clock = std::function<int64_t()>;  // micros since the epoch
  RunLogWriter(RunLogStore* store, std::string run_id, Clock clock, std::function<void()> on_flush,
               RunLogWriterOptions options = {});
  ~RunLogWriter();  // Flush()
  RunLogWriter(const RunLogWriter&) = delete;
  RunLogWriter& operator=(const RunLogWriter&) = delete;

  void Add(const std::string& stream, const std::string& text);
  void FlushIfDue();
  void Flush();
  int64_t lines_stored() const;

 private:
  // Stores the waiting lines (under the lock, so batches stay in order).
  void FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  RunLogStore* store_;
  const std::string run_id_;
  Clock clock_;
  std::function<void()> on_flush_;
  RunLogWriterOptions options_;

  mutable absl::Mutex mu_;
  std::vector<RunLogLine> pending_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point oldest_ ABSL_GUARDED_BY(mu_);
  int64_t accepted_ ABSL_GUARDED_BY(mu_) = 0;  // lines taken (stored or waiting)
  int64_t stored_ ABSL_GUARDED_BY(mu_) = 0;
  bool capped_ ABSL_GUARDED_BY(mu_) = false;
  bool warned_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mlops::training
