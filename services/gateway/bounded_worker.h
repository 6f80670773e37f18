#pragma once
// Background threads (one by default) running tasks from a bounded queue:
// Submit never blocks and returns false when the queue is full (the caller
// counts the drop). Used for shadow predictions, which must never slow the
// answer, and for Predict calls that wait on the feature service (off the
// gRPC callback threads). Owns its threads; the destructor drops queued tasks
// and joins. Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mlops::gateway {

class BoundedWorker {
 public:
  explicit BoundedWorker(std::size_t capacity, int threads = 1) : capacity_(capacity) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~BoundedWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      tasks_.clear();
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  BoundedWorker(const BoundedWorker&) = delete;
  BoundedWorker& operator=(const BoundedWorker&) = delete;

  bool Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || tasks_.size() >= capacity_) return false;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  // Blocks until the queue is empty and no task runs (tests).
  void Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [&] { return tasks_.empty() && running_ == 0; });
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      ++running_;
      lock.unlock();
      task();
      lock.lock();
      --running_;
      if (tasks_.empty() && running_ == 0) idle_cv_.notify_all();
    }
  }

  const std::size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  int running_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace mlops::gateway
