#include "common/server/signals.h"

#include <csignal>

#include "gtest/gtest.h"

namespace mlops {
namespace {

TEST(TerminationSignalsTest, QueuesSignalsThatArriveBeforeWait) {
  TerminationSignals signals;
  ASSERT_EQ(std::raise(SIGTERM), 0);  // would kill the process without the set
  EXPECT_EQ(signals.Wait(), SIGTERM);
  ASSERT_EQ(std::raise(SIGINT), 0);
  EXPECT_EQ(signals.Wait(), SIGINT);
}

}  // namespace
}  // namespace mlops
