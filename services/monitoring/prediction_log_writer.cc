#include "services/monitoring/prediction_log_writer.h"

#include <algorithm>
#include <utility>

#include "common/log/log.h"

namespace mlops::monitoring {

PredictionLogWriter::PredictionLogWriter(MonitoringStore* store, PredictionLogWriterOptions options)
    : store_(store), options_(options) {}

PredictionLogWriter::~PredictionLogWriter() { Stop(); }

void PredictionLogWriter::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Run(); });
}

void PredictionLogWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::Status s = Flush();
  if (!s.ok()) LogWarn("prediction_log_final_flush_failed", {{"status", s.ToString()}});
}

int64_t PredictionLogWriter::Enqueue(std::vector<PredictionLogRow> rows) {
  absl::MutexLock lock(&mu_);
  const int64_t room =
      std::max<int64_t>(0, options_.max_queued_rows - static_cast<int64_t>(queue_.size()));
  const int64_t take = std::min<int64_t>(room, static_cast<int64_t>(rows.size()));
  for (int64_t i = 0; i < take; ++i) queue_.push_back(std::move(rows[i]));
  const int64_t dropped = static_cast<int64_t>(rows.size()) - take;
  dropped_ += dropped;
  return dropped;
}

std::vector<PredictionLogRow> PredictionLogWriter::TakeBatch() {
  const size_t n = std::min<size_t>(queue_.size(), static_cast<size_t>(options_.batch_rows));
  std::vector<PredictionLogRow> batch;
  batch.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return batch;
}

absl::Status PredictionLogWriter::Write(std::vector<PredictionLogRow> batch) {
  absl::Status s = store_->AppendPredictions(batch);
  absl::MutexLock lock(&mu_);
  if (s.ok()) {
    written_ += static_cast<int64_t>(batch.size());
  } else {
    failed_ += static_cast<int64_t>(batch.size());
  }
  return s;
}

absl::Status PredictionLogWriter::Flush() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  absl::Status first;
  for (;;) {
    std::vector<PredictionLogRow> batch;
    {
      absl::MutexLock lock(&mu_);
      batch = TakeBatch();
    }
    if (batch.empty()) return first;
    absl::Status s = Write(std::move(batch));
    if (!s.ok() && first.ok()) first = s;
  }
}

void PredictionLogWriter::Run() {
  for (;;) {
    std::vector<PredictionLogRow> batch;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.flush_interval);
      if (stop_) return;  // Stop() flushes the rest
    }
    std::lock_guard<std::mutex> flush_lock(flush_mu_);
    {
      absl::MutexLock lock(&mu_);
      batch = TakeBatch();
    }
    if (batch.empty()) continue;
    const size_t n = batch.size();
    absl::Status s = Write(std::move(batch));
    if (!s.ok()) {
      LogWarn("prediction_log_write_failed",
              {{"rows", std::to_string(n)}, {"status", s.ToString()}});
    }
  }
}

int64_t PredictionLogWriter::written() const {
  absl::MutexLock lock(&mu_);
  return written_;
}
int64_t PredictionLogWriter::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}
int64_t PredictionLogWriter::failed() const {
  absl::MutexLock lock(&mu_);
  return failed_;
}

}  // namespace mlops::monitoring
