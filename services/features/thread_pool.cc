#include "services/features/thread_pool.h"

#include <algorithm>

namespace mlops::features {

// One ParallelFor call. Shared with the workers that help, which may pick it
// up after the call returned: they then find no task left and never touch fn.
struct ThreadPool::Loop {
  const std::function<void(int64_t)>* fn = nullptr;
  int64_t num_tasks = 0;
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::condition_variable all_done;
  int64_t done = 0;  // guarded by mu
};

ThreadPool::ThreadPool(int parallelism) {
  for (int i = 1; i < parallelism; ++i) workers_.emplace_back([this] { WorkerMain(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::RunTasks(Loop& loop) {
  int64_t finished = 0;
  for (;;) {
    const int64_t i = loop.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= loop.num_tasks) break;
    (*loop.fn)(i);
    ++finished;
  }
  if (finished == 0) return;
  std::lock_guard<std::mutex> lock(loop.mu);
  loop.done += finished;
  if (loop.done == loop.num_tasks) loop.all_done.notify_all();
}

void ThreadPool::WorkerMain() {
  for (;;) {
    std::shared_ptr<Loop> loop;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and nothing left
      loop = std::move(queue_.front());
      queue_.pop_front();
    }
    RunTasks(*loop);
  }
}

void ThreadPool::ParallelFor(int64_t num_tasks, const std::function<void(int64_t)>& fn) {
  if (num_tasks <= 0) return;
  auto loop = std::make_shared<Loop>();
  loop->fn = &fn;
  loop->num_tasks = num_tasks;
  const int64_t helpers = std::min<int64_t>(static_cast<int64_t>(workers_.size()), num_tasks - 1);
  if (helpers > 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int64_t i = 0; i < helpers; ++i) queue_.push_back(loop);
    }
    work_.notify_all();
  }
  RunTasks(*loop);
  std::unique_lock<std::mutex> lock(loop->mu);
  loop->all_done.wait(lock, [&loop] { return loop->done == loop->num_tasks; });
}

void ParallelForOrInline(ThreadPool* pool, int64_t n, const std::function<void(int64_t)>& fn) {
  if (pool != nullptr) {
    pool->ParallelFor(n, fn);
    return;
  }
  for (int64_t i = 0; i < n; ++i) fn(i);
}

}  // namespace mlops::features
