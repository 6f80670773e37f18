#include "services/registry/change_notifier.h"

#include <thread>

#include "gtest/gtest.h"

namespace mlops::registry {
namespace {

TEST(ChangeNotifierTest, WaitTimesOutWithoutChange) {
  ChangeNotifier n;
  absl::Time start = absl::Now();
  EXPECT_TRUE(n.Wait(n.version(), absl::Milliseconds(50)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(45));
}

TEST(ChangeNotifierTest, NotifyWakesWaiter) {
  ChangeNotifier n;
  const uint64_t seen = n.version();
  std::thread t([&] { n.Notify(); });
  absl::Time start = absl::Now();
  EXPECT_TRUE(n.Wait(seen, absl::Seconds(10)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  t.join();
  EXPECT_NE(n.version(), seen);
}

TEST(ChangeNotifierTest, ChangeBeforeWaitIsNotMissed) {
  ChangeNotifier n;
  const uint64_t seen = n.version();
  n.Notify();
  absl::Time start = absl::Now();
  EXPECT_TRUE(n.Wait(seen, absl::Seconds(10)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST(ChangeNotifierTest, ShutdownEndsWaits) {
  ChangeNotifier n;
  std::thread t([&] { n.Shutdown(); });
  EXPECT_FALSE(n.Wait(n.version(), absl::Seconds(10)));
  t.join();
  EXPECT_TRUE(n.shut_down());
}

}  // namespace
}  // namespace mlops::registry
