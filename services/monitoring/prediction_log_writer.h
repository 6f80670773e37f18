#pragma once

// Persists raw prediction records asynchronously: Enqueue() never blocks on
// Postgres; `writers` background threads append what is queued to the
// PredictionLogSink, the MonitoringStore (one transaction per round of up to
// batch_rows rows, written as soon as rows are queued, so parsing the next
// messages overlaps the write of the previous ones). Thread i writes as
// writer i (its own partition of the request-id table, so the threads'
// index inserts do not queue behind one another, and its own Postgres
// connection while it writes). The queue is bounded: records beyond it are
// dropped and counted (they are still in the windows). Every queued row gets
// a sequence number; rounds may commit out of order, and WaitDurable lets
// LogPredictions acknowledge a row only once it and every row queued before
// it are in Postgres. Thread-safe; owns its threads.

#include <cstdint>
#include <deque>
#include <map>
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
  // Background threads, >= 1. Writer indexes beyond the sink's
  // kPredictionLogWriters share its partitions.
  int writers = kPredictionLogWriters;
  absl::Duration flush_interval = absl::Milliseconds(200);
};

class PredictionLogWriter {
 public:
  PredictionLogWriter(PredictionLogSink* store, PredictionLogWriterOptions options = {});
  ~PredictionLogWriter();  // Stop()
  PredictionLogWriter(const PredictionLogWriter&) = delete;
  PredictionLogWriter& operator=(const PredictionLogWriter&) = delete;

  // Starts the background threads (idempotent).
  void Start();
  // Writes what is queued, then joins the threads (idempotent).
  void Stop();

  struct Queued {
    int64_t dropped = 0;   // rows beyond the queue's bound (the batch's last ones)
    int64_t last_seq = 0;  // sequence number of the batch's last queued row (0: none)
  };
  // Queues a batch (its first rows, as many as fit).
  Queued Enqueue(PredictionLogBatch batch);

  // Waits until every row up to `seq` was written or failed. Without the
  // background threads, writes on the calling thread (as writer 0). OK when no write holding rows in (`after_seq`, `seq`]
  // failed (conservative: a failed COPY of other streams' rows interleaved
  // in that range counts too); UNAVAILABLE otherwise.
  absl::Status WaitDurable(int64_t after_seq, int64_t seq);

  // Writes everything queued now on the calling thread (as writer 0).
  absl::Status Flush();

  // Every row up to this sequence number was written or failed.
  int64_t durable_seq() const;

  int64_t written() const;
  int64_t dropped() const;
  int64_t failed() const;

 private:
  void Run(int writer);
  // Whole batches taken off the queue, and their rows' sequence numbers.
  struct Round {
    std::vector<PredictionLogBatch> batches;
    int64_t first_seq = 0;
    int64_t last_seq = 0;
  };
  // Takes whole batches, up to batch_rows rows (at least one), and marks
  // their rows in flight.
  Round TakeRound() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the round, then marks its rows done (written or failed).
  absl::Status Write(Round round, int writer);

  PredictionLogSink* const store_;  // not owned
  const PredictionLogWriterOptions options_;
  mutable absl::Mutex mu_;
  std::deque<PredictionLogBatch> queue_ ABSL_GUARDED_BY(mu_);
  int64_t queued_rows_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;   // of the next queued row
  int64_t taken_seq_ ABSL_GUARDED_BY(mu_) = 0;  // last row taken off the queue
  // Rounds being written: first -> last sequence number.
  std::map<int64_t, int64_t> in_flight_ ABSL_GUARDED_BY(mu_);
  // Every row up to here was written or failed.
  int64_t done_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // [first, last] row sequence numbers of the newest failed writes (bounded).
  std::deque<std::pair<int64_t, int64_t>> failed_ranges_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  int64_t written_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
};

}  // namespace mlops::monitoring
