#pragma once

// Retention deletion of the prediction log. RetentionSweeper::SweepOnce
// deletes, per model, the prediction batches whose newest record is older
// than now - the model's raw retention (with their request rows), then the
// ground-truth labels received before that cutoff that no longer have a
// logged prediction to join; model-less labels ('' joins every model) use
// the longest raw retention of all models. Work is bounded: at most
// `batches_per_transaction` batches (each up to a message's records) or
// `labels_per_transaction` labels per transaction and `max_transactions`
// per (model, table) per sweep, so a sweep never holds long locks and a backlog
// drains over several sweeps. RetentionLoop runs SweepOnce every
// `interval` on its own thread until Stop. Plain C++ (no gRPC, protobuf or
// Postgres). RetentionSweeper is not thread-safe (one caller: the loop);
// RetentionLoop's Start / Stop are.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops::monitoring {

// Rows deleted, per table.
struct RetentionDeleted {
  int64_t batches = 0;   // prediction_batches
  int64_t requests = 0;  // prediction_requests
  int64_t labels = 0;    // ground_truth
};

// Where the sweeper deletes (PgRetentionStore in production). Thread-safe.
class RetentionStore {
 public:
  virtual ~RetentionStore() = default;
  // Models (never '') with logged predictions or labels.
  virtual absl::StatusOr<std::vector<std::string>> ListRetainedModels() = 0;
  // In one transaction: up to `limit` batches of `model` whose max
  // timestamp is before `cutoff_micros`, and their request rows.
  virtual absl::StatusOr<RetentionDeleted> DeletePredictionBatches(const std::string& model,
                                                                   int64_t cutoff_micros,
                                                                   int64_t limit) = 0;
  // In one transaction: up to `limit` labels of `model` ('' = model-less)
  // received before `cutoff_micros` with no logged prediction left that
  // they join (of `model`; of any model for model-less labels).
  virtual absl::StatusOr<int64_t> DeleteOrphanLabels(const std::string& model,
                                                     int64_t cutoff_micros, int64_t limit) = 0;
};

// mlops_monitoring_retention_* (implemented by MonitoringMetrics).
class RetentionCounters {
 public:
  virtual ~RetentionCounters() = default;
  virtual void RetentionDeletedRows(const std::string& table, int64_t n) = 0;
  virtual void RetentionSweepFinished(int64_t now_micros) = 0;
};

struct RetentionSweeperOptions {
  std::function<int64_t()> now_micros;  // required
  // The model's effective raw retention (its config or the default).
  std::function<absl::StatusOr<int64_t>(const std::string& model)> raw_retention_of;  // required
  // The default raw retention (7 days), a floor for model-less labels' cutoff.
  int64_t default_raw_retention_micros = 7LL * 86'400'000'000;
  int64_t batches_per_transaction = 10;  // ~10k request rows at 1,000 a message
  int64_t labels_per_transaction = 1000;
  int64_t max_transactions = 100;
};

class RetentionSweeper {
 public:
  // `counters` may be null.
  RetentionSweeper(RetentionStore* store, RetentionCounters* counters,
                   RetentionSweeperOptions options);

  // One sweep over every model. A model whose deletion fails is logged and
  // skipped (the others are still swept); the first error is returned after
  // the sweep, with nothing about the rows already deleted lost (they are
  // counted).
  absl::StatusOr<RetentionDeleted> SweepOnce();

 private:
  // Repeats `step` (rows deleted per call) while it deletes `limit` rows,
  // at most max_transactions times.
  absl::StatusOr<int64_t> Drain(int64_t limit,
                                const std::function<absl::StatusOr<int64_t>()>& step) const;
  absl::Status SweepModel(const std::string& model, int64_t cutoff, RetentionDeleted& total);

  RetentionStore* const store_;        // not owned
  RetentionCounters* const counters_;  // not owned, may be null
  const RetentionSweeperOptions options_;
};

// Runs sweeper->SweepOnce() every `interval` (the first one `interval`
// after Start) on its own thread; Stop wakes it and joins. Thread-safe.
class RetentionLoop {
 public:
  RetentionLoop(RetentionSweeper* sweeper, std::chrono::milliseconds interval);
  ~RetentionLoop();
  RetentionLoop(const RetentionLoop&) = delete;
  RetentionLoop& operator=(const RetentionLoop&) = delete;

  void Start();
  void Stop();
  int64_t sweeps() const;

 private:
  void Run();

  RetentionSweeper* const sweeper_;  // not owned
  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int64_t sweeps_ = 0;
  std::thread thread_;
};

}  // namespace mlops::monitoring
