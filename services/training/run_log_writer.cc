#include "services/training/run_log_writer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace mlops::training {

RunLogWriter::RunLogWriter(RunLogStore* store, std::string run_id, Clock clock,
                           std::function<void()> on_flush, RunLogWriterOptions options)
    : store_(store),
      run_id_(std::move(run_id)),
      clock_(std::move(clock)),
      on_flush_(std::move(on_flush)),
      options_(options) {}

RunLogWriter::~RunLogWriter() { Flush(); }

void RunLogWriter::Add(const std::string& stream, const std::string& text) {
  absl::MutexLock lock(&mu_);
  if (capped_) return;
  if (pending_.empty()) oldest_ = std::chrono::steady_clock::now();
  if (accepted_ >= options_.max_lines) {
    capped_ = true;
    pending_.push_back({0, "system",
                        absl::StrCat("output beyond ", options_.max_lines,
                                     " lines is not streamed; its tail is kept in the run's logs/*.txt artifacts"),
                        clock_()});
  } else {
    pending_.push_back({0, stream, text, clock_()});
    ++accepted_;
  }
  if (pending_.size() >= options_.batch_lines) FlushLocked();
}

void RunLogWriter::FlushIfDue() {
  absl::MutexLock lock(&mu_);
  if (!pending_.empty() && std::chrono::steady_clock::now() - oldest_ >= options_.flush_interval) FlushLocked();
}

void RunLogWriter::Flush() {
  absl::MutexLock lock(&mu_);
  FlushLocked();
}

int64_t RunLogWriter::lines_stored() const {
  absl::MutexLock lock(&mu_);
  return stored_;
}

void RunLogWriter::FlushLocked() {
  if (pending_.empty()) return;
  std::vector<RunLogLine> batch;
  batch.swap(pending_);
  absl::Status s = store_->Append(run_id_, batch);
  if (!s.ok()) {
    if (!warned_) LogWarn("run_log_lines_dropped", {{"run", run_id_}, {"status", s.ToString()}});
    warned_ = true;
    return;
  }
  stored_ += static_cast<int64_t>(batch.size());
  if (on_flush_) on_flush_();
}

}  // namespace mlops::training
