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
  if (!threads_.empty() || stop_) return;
  running_ = true;
  for (int i = 0; i < std::max(1, options_.writers); ++i) {
    threads_.emplace_back([this, i] { Run(i); });
  }
}

void PredictionLogWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
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

PredictionLogWriter::Round PredictionLogWriter::TakeRound() {
  Round round;
  int64_t rows = 0;
  while (!queue_.empty() &&
         (round.batches.empty() ||
          rows + static_cast<int64_t>(queue_.front().size()) <= options_.batch_rows)) {
    rows += static_cast<int64_t>(queue_.front().size());
    round.batches.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  if (rows == 0) return round;
  queued_rows_ -= rows;
  round.first_seq = taken_seq_ + 1;
  round.last_seq = taken_seq_ + rows;
  taken_seq_ = round.last_seq;
  in_flight_.emplace(round.first_seq, round.last_seq);
  return round;
}

absl::Status PredictionLogWriter::Write(Round round, int writer) {
  absl::Status s = store_->AppendPredictions(round.batches, writer);
  const int64_t rows = round.last_seq - round.first_seq + 1;
  absl::MutexLock lock(&mu_);
  in_flight_.erase(round.first_seq);
  done_seq_ = in_flight_.empty() ? taken_seq_ : in_flight_.begin()->first - 1;
  if (s.ok()) {
    written_ += rows;
  } else {
    failed_ += rows;
    failed_ranges_.emplace_back(round.first_seq, round.last_seq);
    if (failed_ranges_.size() > kMaxFailedRanges) failed_ranges_.pop_front();
  }
  return s;
}

absl::Status PredictionLogWriter::Flush() {
  absl::Status first;
  for (;;) {
    Round round;
    {
      absl::MutexLock lock(&mu_);
      round = TakeRound();
    }
    if (round.batches.empty()) return first;
    absl::Status s = Write(std::move(round), 0);
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

void PredictionLogWriter::Run(int writer) {
  for (;;) {
    Round round;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || !queue_.empty(); };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.flush_interval);
      if (stop_) return;  // Stop() flushes the rest
      round = TakeRound();
    }
    if (round.batches.empty()) continue;
    const int64_t rows = round.last_seq - round.first_seq + 1;
    absl::Status s = Write(std::move(round), writer);
    if (!s.ok()) {
      LogWarn("prediction_log_write_failed", {{"rows", std::to_string(rows)},
                                              {"writer", std::to_string(writer)},
                                              {"status", s.ToString()}});
    }
  }
}

int64_t PredictionLogWriter::durable_seq() const {
  absl::MutexLock lock(&mu_);
  return done_seq_;
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
