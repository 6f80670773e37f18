#pragma once
// ThreadPool: a fixed set of worker threads for data-parallel loops
// (ParallelFor). Owns its threads and joins them on destruction.
// Thread-safe: several threads may call ParallelFor at once; the caller
// always works on its own loop too, so a busy pool only slows a loop down and
// never deadlocks it.
//
// Uses std::mutex / std::condition_variable rather than absl::Mutex (our
// usual choice): Debian's Abseil is not built with ThreadSanitizer
// annotations, so TSan cannot see absl::Mutex's ordering and would drown
// real reports in false ones; pthread-based locks it sees.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace mlops::features {

class ThreadPool {
 public:
  // parallelism >= 1: the calling thread plus parallelism - 1 workers.
  explicit ThreadPool(int parallelism);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int parallelism() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(i) once for every i in [0, num_tasks), in any order and on any
  // of the threads, and returns when all calls have returned. fn must not
  // throw.
  void ParallelFor(int64_t num_tasks, const std::function<void(int64_t)>& fn);

 private:
  struct Loop;
  void WorkerMain();
  static void RunTasks(Loop& loop);

  std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::shared_ptr<Loop>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> workers_;
};

// Runs fn(i) for i in [0, n) on `pool`, or inline when pool is null.
void ParallelForOrInline(ThreadPool* pool, int64_t n, const std::function<void(int64_t)>& fn);

}  // namespace mlops::features
