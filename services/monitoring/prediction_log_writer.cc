#include "services/monitoring/prediction_log_writer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace mlops::monitoring {
namespace {

constexpr size_t kMaxFailedRanges = 256;

}  // namespace

PredictionLogWriter::PredictionLogWriter(PredictionLogSink* store, PredictionLogWriterOptions options)
    : store_(store), options_(options) {}

PredictionLogWriter::~PredictionLogWriter() { Stop(); }

void PredictionLogWriter::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stop_) return;
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void PredictionLogWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::Status s = Flush();
  {
    absl::MutexLock lock(&mu_);
    running_ = false;
  }
  if (!s.ok()) LogWarn("prediction_log_final_flush_failed", {{"status", s.ToString()}});
}

PredictionLogWriter::Queued PredictionLogWriter::Enqueue(PredictionLogBatch batch) {
  absl::MutexLock lock(&mu_);
  const int64_t room = std::max<int64_t>(0, options_.max_queued_rows - queued_rows_);
  const int64_t n = static_cast<int64_t>(batch.size());
  const int64_t take = std::min<int64_t>(room, n);
  Queued q;
  q.dropped = n - take;
  dropped_ += q.dropped;
  if (take == 0) return q;
  batch.Truncate(static_cast<size_t>(take));
  queued_rows_ += take;
  next_seq_ += take;
  q.last_seq = next_seq_ - 1;
  queue_.push_back(std::move(batch));
  return q;
}

std::vector<PredictionLogBatch> PredictionLogWriter::TakeBatches() {
  std::vector<PredictionLogBatch> out;
  int64_t rows = 0;
  while (!queue_.empty() && (out.empty() || rows + static_cast<int64_t>(queue_.front().size()) <=
                                                  options_.batch_rows)) {
    rows += static_cast<int64_t>(queue_.front().size());
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_rows_ -= rows;
  taken_seq_ += rows;
  return out;
}

absl::Status PredictionLogWriter::Write(std::vector<PredictionLogBatch> batches) {
  int64_t rows = 0;
  for (const PredictionLogBatch& b : batches) rows += static_cast<int64_t>(b.size());
  absl::Status s = store_->AppendPredictions(batches);
  absl::MutexLock lock(&mu_);
  const int64_t first = done_seq_ + 1;
  done_seq_ += rows;
  if (s.ok()) {
    written_ += rows;
  } else {
    failed_ += rows;
    failed_ranges_.emplace_back(first, done_seq_);
    if (failed_ranges_.size() > kMaxFailedRanges) failed_ranges_.pop_front();
  }
  return s;
}

absl::Status PredictionLogWriter::Flush() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  absl::Status first;
  for (;;) {
    std::vector<PredictionLogBatch> batches;
    {
      absl::MutexLock lock(&mu_);
      batches = TakeBatches();
    }
    if (batches.empty()) return first;
    absl::Status s = Write(std::move(batches));
    if (!s.ok() && first.ok()) first = s;
  }
}

absl::Status PredictionLogWriter::WaitDurable(int64_t after_seq, int64_t seq) {
  if (seq <= after_seq) return absl::OkStatus();
  bool running;
  {
    absl::MutexLock lock(&mu_);
    running = running_ && !stop_;
  }
  if (!running) {
    absl::Status s = Flush();
    (void)s;  // judged below from the failed ranges
  }
  absl::MutexLock lock(&mu_);
  auto done = [this, seq]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return done_seq_ >= seq || (stop_ && !running_);
  };
  // Bounded: the writer thread (or Stop's flush) finishes every queued row.
  mu_.Await(absl::Condition(&done));
  if (done_seq_ < seq) return absl::UnavailableError("prediction log writer stopped");
  for (const auto& [first, last] : failed_ranges_) {
    if (first <= seq && last > after_seq) {
      return absl::UnavailableError(
          absl::StrCat("prediction log: the COPY of rows ", first, "..", last, " failed"));
    }
  }
  return absl::OkStatus();
}

void PredictionLogWriter::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.flush_interval);
      if (stop_) return;  // Stop() flushes the rest
    }
    std::lock_guard<std::mutex> flush_lock(flush_mu_);
    std::vector<PredictionLogBatch> batches;
    {
      absl::MutexLock lock(&mu_);
      batches = TakeBatches();
    }
    if (batches.empty()) continue;
    int64_t n = 0;
    for (const PredictionLogBatch& b : batches) n += static_cast<int64_t>(b.size());
    absl::Status s = Write(std::move(batches));
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
