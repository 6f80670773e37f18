#include "services/features/thread_pool.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace mlops::features {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskExactlyOnce) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.parallelism(), 3);
  std::vector<std::atomic<int>> hits(1000);
  pool.ParallelFor(1000, [&](int64_t i) { hits[i].fetch_add(1); });
  for (const auto& h : hits) EXPECT_EQ(h.load(), 1);
  pool.ParallelFor(0, [&](int64_t) { FAIL(); });
}

TEST(ThreadPoolTest, ConcurrentCallersDoNotInterfere) {
  ThreadPool pool(2);
  std::vector<std::thread> callers;
  std::atomic<int64_t> total{0};
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        std::atomic<int64_t> sum{0};
        pool.ParallelFor(100, [&](int64_t i) { sum.fetch_add(i); });
        total.fetch_add(sum.load() == 4950 ? 1 : 0);
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(total.load(), 200);
}

TEST(ThreadPoolTest, InlineWithoutPool) {
  std::vector<int64_t> order;
  ParallelForOrInline(nullptr, 4, [&](int64_t i) { order.push_back(i); });
  EXPECT_EQ(order, std::vector<int64_t>({0, 1, 2, 3}));
}

}  // namespace
}  // namespace mlops::features
