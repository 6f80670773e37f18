#pragma once
// Runs a function every `period` on its own thread between Start and Stop
// (the rollout analyzer). Owns the thread; Stop joins it. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace mlops::gateway {

class PeriodicLoop {
 public:
  PeriodicLoop(std::chrono::milliseconds period, std::function<void()> fn)
      : period_(period), fn_(std::move(fn)) {}
  ~PeriodicLoop() { Stop(); }
  PeriodicLoop(const PeriodicLoop&) = delete;
  PeriodicLoop& operator=(const PeriodicLoop&) = delete;

  void Start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!cv_.wait_for(lock, period_, [&] { return stopping_; })) {
        lock.unlock();
        fn_();
        lock.lock();
      }
    });
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  const std::chrono::milliseconds period_;
  const std::function<void()> fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mlops::gateway
