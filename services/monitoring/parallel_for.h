#pragma once
// Runs fn(0) .. fn(n-1) on up to `num_threads` std::threads (the calling
// thread is one of them), handing out indices one at a time so uneven tasks
// balance. Returns when all calls have returned. fn must be safe to call
// concurrently for distinct indices and must not throw.

#include <cstddef>
#include <functional>

namespace mlops::monitoring {

// num_threads <= 0: std::thread::hardware_concurrency() (at least 1).
void ParallelFor(size_t n, int num_threads, const std::function<void(size_t)>& fn);

// The number of workers ParallelFor(n, num_threads, ...) runs.
size_t ParallelWorkers(size_t n, int num_threads);

// As ParallelFor, also passing the worker's number in [0, ParallelWorkers())
// so each worker can reuse its own scratch memory.
void ParallelForWorkers(size_t n, int num_threads,
                        const std::function<void(size_t worker, size_t index)>& fn);

}  // namespace mlops::monitoring
