#include "services/monitoring/retention_sweeper.h"

#include <algorithm>
#include <utility>

#include "common/log/log.h"

namespace mlops::monitoring {

RetentionSweeper::RetentionSweeper(RetentionStore* store, RetentionCounters* counters,
                                   RetentionSweeperOptions options)
    : store_(store), counters_(counters), options_(std::move(options)) {}

absl::StatusOr<int64_t> RetentionSweeper::Drain(
    int64_t limit, const std::function<absl::StatusOr<int64_t>()>& step) const {
  int64_t total = 0;
  for (int64_t i = 0; i < options_.max_transactions; ++i) {
    absl::StatusOr<int64_t> n = step();
    if (!n.ok()) return n.status();
    total += *n;
    if (*n < limit) break;
  }
  return total;
}

absl::Status RetentionSweeper::SweepModel(const std::string& model, int64_t cutoff,
                                          RetentionDeleted& total) {
  if (!model.empty()) {
    const int64_t limit = options_.batches_per_transaction;
    absl::StatusOr<int64_t> batches = Drain(limit, [&]() -> absl::StatusOr<int64_t> {
      absl::StatusOr<RetentionDeleted> d = store_->DeletePredictionBatches(model, cutoff, limit);
      if (!d.ok()) return d.status();
      total.batches += d->batches;
      total.requests += d->requests;
      if (counters_ != nullptr) {
        counters_->RetentionDeletedRows("prediction_batches", d->batches);
        counters_->RetentionDeletedRows("prediction_requests", d->requests);
      }
      return d->batches;
    });
    if (!batches.ok()) return batches.status();
  }
  const int64_t limit = options_.labels_per_transaction;
  absl::StatusOr<int64_t> labels = Drain(limit, [&]() -> absl::StatusOr<int64_t> {
    absl::StatusOr<int64_t> n = store_->DeleteOrphanLabels(model, cutoff, limit);
    if (!n.ok()) return n.status();
    total.labels += *n;
    if (counters_ != nullptr) counters_->RetentionDeletedRows("ground_truth", *n);
    return *n;
  });
  return labels.status();
}

absl::StatusOr<RetentionDeleted> RetentionSweeper::SweepOnce() {
  const int64_t now = options_.now_micros();
  absl::StatusOr<std::vector<std::string>> models = store_->ListRetainedModels();
  if (!models.ok()) return models.status();
  RetentionDeleted total;
  absl::Status first_error;
  int64_t longest = options_.default_raw_retention_micros;
  auto note = [&](const std::string& model, const absl::Status& s) {
    if (s.ok()) return;
    LogWarn("retention_sweep_failed", {{"model", model}, {"status", s.ToString()}});
    if (first_error.ok()) first_error = s;
  };
  for (const std::string& model : *models) {
    absl::StatusOr<int64_t> retention = options_.raw_retention_of(model);
    if (!retention.ok()) {
      note(model, retention.status());
      continue;
    }
    longest = std::max(longest, *retention);
    note(model, SweepModel(model, now - *retention, total));
  }
  // Model-less labels: kept while any model could still log their prediction.
  note("", SweepModel("", now - longest, total));
  if (counters_ != nullptr) counters_->RetentionSweepFinished(now);
  if (total.batches + total.labels > 0) {
    LogInfo("retention_sweep", {{"batches", std::to_string(total.batches)},
                                {"requests", std::to_string(total.requests)},
                                {"labels", std::to_string(total.labels)}});
  }
  if (!first_error.ok()) return first_error;
  return total;
}

RetentionLoop::RetentionLoop(RetentionSweeper* sweeper, std::chrono::milliseconds interval)
    : sweeper_(sweeper), interval_(interval) {}

RetentionLoop::~RetentionLoop() { Stop(); }

void RetentionLoop::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void RetentionLoop::Stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
}

int64_t RetentionLoop::sweeps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sweeps_;
}

void RetentionLoop::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (cv_.wait_for(lock, interval_, [this] { return stopping_; })) break;
    lock.unlock();
    absl::StatusOr<RetentionDeleted> swept = sweeper_->SweepOnce();  // failures are logged
    (void)swept;
    lock.lock();
    ++sweeps_;
  }
}

}  // namespace mlops::monitoring
