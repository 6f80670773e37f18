#pragma once

// Persists raw prediction records asynchronously: Enqueue() never blocks on
// Postgres; a background thread appends what is queued to the
// PredictionLogSink, the MonitoringStore (one COPY per round of up to batch_rows rows, written as
// soon as rows are queued, so parsing the next messages overlaps the COPY of
// the previous ones). The queue is bounded: records beyond it are dropped and
// counted (they are still in the windows). Every queued row gets a sequence
// number; WaitDurable lets LogPredictions acknowledge only rows that are in
// Postgres. Thread-safe; owns its thread.

#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/monitoring/prediction_log_batch.h"

namespace mlops::monitoring {

struct PredictionLogWriterOptions {
  int64_t max_queued_rows = 1'000'000;
  int64_t batch_rows = 50'000;
  absl::Duration flush_interval = absl::Milliseconds(200);
};

class PredictionLogWriter {
 public:
  PredictionLogWriter(PredictionLogSink* store, PredictionLogWriterOptions options = {});
  ~PredictionLogWriter();  // Stop()
  PredictionLogWriter(const PredictionLogWriter&) = delete;
  PredictionLogWriter& operator=(const PredictionLogWriter&) = delete;

  // Starts the background thread (idempotent).
  void Start();
  // Writes what is queued, then joins the thread (idempotent).
  void Stop();

  struct Queued {
    int64_t dropped = 0;   // rows beyond the queue's bound (the batch's last ones)
    int64_t last_seq = 0;  // sequence number of the batch's last queued row (0: none)
  };
  // Queues a batch (its first rows, as many as fit).
  Queued Enqueue(PredictionLogBatch batch);

  // Waits until every row up to `seq` was written or failed (rows are
  // written in sequence order). Without the background thread, writes on the
  // calling thread. OK when no write holding rows in (`after_seq`, `seq`]
  // failed (conservative: a failed COPY of other streams' rows interleaved
  // in that range counts too); UNAVAILABLE otherwise.
  absl::Status WaitDurable(int64_t after_seq, int64_t seq);

  // Writes everything queued now on the calling thread.
  absl::Status Flush();

  int64_t written() const;
  int64_t dropped() const;
  int64_t failed() const;

 private:
  void Run();
  // Takes whole batches off the queue, up to batch_rows rows (at least one).
  std::vector<PredictionLogBatch> TakeBatches() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Write(std::vector<PredictionLogBatch> batches);

  PredictionLogSink* const store_;  // not owned
  const PredictionLogWriterOptions options_;
  std::mutex flush_mu_;  // one writer at a time (keeps sequence order)
  mutable absl::Mutex mu_;
  std::deque<PredictionLogBatch> queue_ ABSL_GUARDED_BY(mu_);
  int64_t queued_rows_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;   // of the next queued row
  int64_t taken_seq_ ABSL_GUARDED_BY(mu_) = 0;  // last row taken off the queue
  int64_t done_seq_ ABSL_GUARDED_BY(mu_) = 0;   // last row written or failed
  // [first, last] row sequence numbers of the newest failed writes (bounded).
  std::deque<std::pair<int64_t, int64_t>> failed_ranges_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  int64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace mlops::monitoring
