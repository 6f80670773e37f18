#pragma once
// OnlineSlowPath: one worker thread for the rare GetOnlineFeatures calls
// whose answer needs the view registry (Postgres: a ref names a view this
// replica has not loaded, and NOT_FOUND vs FAILED_PRECONDITION depends on
// whether it exists), so that gRPC's callback threads never wait on
// Postgres. At most kMaxQueued tasks wait (Post refuses more: the caller
// answers UNAVAILABLE), which also bounds the registry reads an error flood
// can cause to one at a time. Runs what is queued, then joins its thread, on
// destruction. Thread-safe. Header-only.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace mlops::features {

class OnlineSlowPath {
 public:
  static constexpr size_t kMaxQueued = 256;

  OnlineSlowPath() : thread_([this] { Main(); }) {}
  ~OnlineSlowPath() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }
  OnlineSlowPath(const OnlineSlowPath&) = delete;
  OnlineSlowPath& operator=(const OnlineSlowPath&) = delete;

  // Queues `task`; false (not queued) when kMaxQueued tasks already wait.
  bool Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.size() >= kMaxQueued) return false;
      queue_.push_back(std::move(task));
    }
    ready_.notify_one();
    return true;
  }

 private:
  void Main() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::thread thread_;                       // last: started once the rest exists
};

}  // namespace mlops::features
