#include "common/server/readiness_loop.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::ElementsAre;

TEST(NextBackoffTest, DoublesFrom100MsUpTo5s) {
  std::vector<int64_t> waits;
  absl::Duration d = absl::Milliseconds(100);
  for (int i = 0; i < 9; ++i) {
    waits.push_back(absl::ToInt64Milliseconds(d));
    d = NextBackoff(d, absl::Seconds(5));
  }
  EXPECT_THAT(waits, ElementsAre(100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000));
}

// Records every set_serving call.
class ServingRecorder {
 public:
  void Set(bool serving) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(serving);
  }
  std::vector<bool> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  // Waits (bounded) until `n` calls were recorded.
  bool WaitForCalls(size_t n, absl::Duration timeout = absl::Seconds(5)) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return calls_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<bool> calls_ ABSL_GUARDED_BY(mu_);
};

ReadinessOptions FastOptions() {
  ReadinessOptions options;
  options.initial_backoff = absl::Milliseconds(5);
  options.max_backoff = absl::Milliseconds(20);
  options.probe_interval = absl::Milliseconds(10);
  return options;
}

TEST(ReadinessLoopTest, ServesOnlyAfterTheStartupStepSucceeds) {
  std::atomic<int> attempts{0};
  ReadinessOptions options = FastOptions();
  options.startup = [&] {
    return ++attempts < 3 ? absl::UnavailableError("postgres not up") : absl::OkStatus();
  };
  ServingRecorder recorder;
  ReadinessLoop loop(options, [&](bool s) { recorder.Set(s); });
  loop.Start();
  ASSERT_TRUE(recorder.WaitForCalls(1));
  EXPECT_EQ(attempts.load(), 3);
  EXPECT_THAT(recorder.calls(), ElementsAre(true));  // never SERVING before success
  EXPECT_TRUE(loop.started_up());
  EXPECT_TRUE(loop.serving());
  loop.Stop();
}

TEST(ReadinessLoopTest, WithoutStartupStepServesAtOnce) {
  ServingRecorder recorder;
  ReadinessLoop loop(FastOptions(), [&](bool s) { recorder.Set(s); });
  loop.Start();
  ASSERT_TRUE(recorder.WaitForCalls(1));
  EXPECT_THAT(recorder.calls(), ElementsAre(true));
}

TEST(ReadinessLoopTest, ProbeFlipsServingBothWays) {
  std::atomic<bool> database_up{true};
  ReadinessOptions options = FastOptions();
  options.probe = [&] {
    return database_up ? absl::OkStatus() : absl::UnavailableError("connection refused");
  };
  ServingRecorder recorder;
  ReadinessLoop loop(options, [&](bool s) { recorder.Set(s); });
  loop.Start();
  ASSERT_TRUE(recorder.WaitForCalls(1));
  database_up = false;
  ASSERT_TRUE(recorder.WaitForCalls(2));
  EXPECT_FALSE(loop.serving());
  database_up = true;
  ASSERT_TRUE(recorder.WaitForCalls(3));
  loop.Stop();
  // Only transitions are reported, not every probe.
  EXPECT_THAT(recorder.calls(), ElementsAre(true, false, true));
}

TEST(ReadinessLoopTest, StopInterruptsTheBackoffWaitAndNeverServes) {
  ReadinessOptions options;
  options.initial_backoff = absl::Seconds(30);
  options.startup = [] { return absl::UnavailableError("down"); };
  ServingRecorder recorder;
  ReadinessLoop loop(options, [&](bool s) { recorder.Set(s); });
  loop.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto before = std::chrono::steady_clock::now();
  loop.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
  EXPECT_TRUE(recorder.calls().empty());
  EXPECT_FALSE(loop.started_up());
}

}  // namespace
}  // namespace mlops
