#include "services/monitoring/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace mlops::monitoring {

size_t ParallelWorkers(size_t n, int num_threads) {
  const size_t threads = num_threads > 0 ? static_cast<size_t>(num_threads)
                                         : std::max(1u, std::thread::hardware_concurrency());
  return std::max<size_t>(1, std::min(threads, n));
}

void ParallelForWorkers(size_t n, int num_threads,
                        const std::function<void(size_t worker, size_t index)>& fn) {
  if (n == 0) return;
  const size_t threads = ParallelWorkers(n, num_threads);
  std::atomic<size_t> next{0};
  auto work = [&](size_t worker) {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(worker, i);
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (std::thread& t : pool) t.join();
}

void ParallelFor(size_t n, int num_threads, const std::function<void(size_t)>& fn) {
  ParallelForWorkers(n, num_threads, [&fn](size_t, size_t i) { fn(i); });
}

}  // namespace mlops::monitoring
