#include "services/ingestion/source_scheduler.h"

#include <string>
#include <vector>

#include "common/log/log.h"

namespace mlops::ingestion {

SourceScheduler::~SourceScheduler() { Stop(); }

void SourceScheduler::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Loop(); });
}

void SourceScheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int SourceScheduler::RunDue() {
  absl::StatusOr<std::vector<std::string>> due = puller_->DueSources(options_.max_pulls_per_tick);
  if (!due.ok()) {
    LogWarn("source_scheduler_list_failed", {{"status", due.status().ToString()}});
    return 0;
  }
  int pulls = 0;
  for (const std::string& name : *due) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) break;
    }
    absl::StatusOr<v1::SourcePullResult> r = puller_->Pull(name);
    // Aborted: a triggered pull of the source is running; it will be due again.
    if (!r.ok() && r.status().code() != absl::StatusCode::kAborted) {
      LogWarn("source_scheduled_pull_failed", {{"source", name}, {"status", r.status().ToString()}});
    }
    ++pulls;
  }
  return pulls;
}

void SourceScheduler::Loop() {
  LogInfo("source_scheduler_started", {});
  while (true) {
    RunDue();
    absl::MutexLock lock(&mu_);
    // Sleeps for `poll` unless stopped meanwhile.
    mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.poll);
    if (stop_) break;
  }
  LogInfo("source_scheduler_stopped", {});
}

}  // namespace mlops::ingestion
