#pragma once
// PipelineStage: runs one task at a time on a thread of its own.
#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace mlops::ingestion {

// One task at a time on a thread of its own: a stage of an ingest stream's
// pipeline (ReadBatch hands chunks to one; a BatchSession stores a chunk on
// another while it validates it). Owns its thread. Thread-safe for one
// producer thread (Start / Wait alternate); the destructor waits for the
// task in flight and joins the thread.
class PipelineStage {
 public:
  PipelineStage() : thread_([this] { Loop(); }) {}
  ~PipelineStage() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }
  PipelineStage(const PipelineStage&) = delete;
  PipelineStage& operator=(const PipelineStage&) = delete;

  // Runs `task` on the stage's thread. Call Wait() before the next Start().
  void Start(std::function<absl::Status()> task) {
    absl::MutexLock lock(&mu_);
    task_ = std::move(task);
    busy_ = true;
  }
  // The result of the last task started (OK when none is pending).
  absl::Status Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(+[](bool* busy) { return !*busy; }, &busy_));
    absl::Status out = std::move(result_);
    result_ = absl::OkStatus();
    return out;
  }

 private:
  void Loop() {
    absl::MutexLock lock(&mu_);
    while (true) {
      mu_.Await(absl::Condition(this, &PipelineStage::HasWork));
      if (task_ == nullptr) return;  // stop_ and nothing to run
      std::function<absl::Status()> task = std::move(task_);
      task_ = nullptr;
      mu_.Unlock();
      absl::Status s = task();
      mu_.Lock();
      result_ = std::move(s);
      busy_ = false;
    }
  }
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return task_ != nullptr || stop_; }

  absl::Mutex mu_;
  std::function<absl::Status()> task_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status result_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts after the fields above exist
};

}  // namespace mlops::ingestion
