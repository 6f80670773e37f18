#pragma once

// Persists raw prediction records asynchronously: Enqueue() never blocks on
// Postgres; a background thread appends batches to the MonitoringStore
// (COPY). The queue is bounded: records beyond it are dropped and counted
// (they are still in the windows). Thread-safe; owns its thread.

#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/monitoring/monitoring_store.h"

namespace mlops::monitoring {

struct PredictionLogWriterOptions {
  int64_t max_queued_rows = 1'000'000;
  int64_t batch_rows = 10'000;
  absl::Duration flush_interval = absl::Milliseconds(200);
};

class PredictionLogWriter {
 public:
  PredictionLogWriter(MonitoringStore* store, PredictionLogWriterOptions options = {});
  ~PredictionLogWriter();  // Stop()
  PredictionLogWriter(const PredictionLogWriter&) = delete;
  PredictionLogWriter& operator=(const PredictionLogWriter&) = delete;

  // Starts the background thread (idempotent).
  void Start();
  // Writes what is queued, then joins the thread (idempotent).
  void Stop();

  // Queues rows; returns how many were dropped because the queue was full.
  int64_t Enqueue(std::vector<PredictionLogRow> rows);

  // Writes everything queued now on the calling thread.
  absl::Status Flush();

  int64_t written() const;
  int64_t dropped() const;
  int64_t failed() const;

 private:
  void Run();
  // Takes up to batch_rows rows off the queue.
  std::vector<PredictionLogRow> TakeBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Write(std::vector<PredictionLogRow> batch);

  MonitoringStore* const store_;  // not owned
  const PredictionLogWriterOptions options_;
  std::mutex flush_mu_;  // one writer at a time
  mutable absl::Mutex mu_;
  std::deque<PredictionLogRow> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace mlops::monitoring
