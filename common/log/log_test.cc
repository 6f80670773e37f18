#include "common/log/log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(LogTest, FormatsLogfmtWithQuotingWhereNeeded) {
  SetLogServiceName("registry");
  const std::string line = FormatLogLine(
      LogLevel::kWarn, "rpc_failed",
      {{"method", "Approve"}, {"detail", "said \"no\" = nope\n"}, {"empty", ""}});
  EXPECT_THAT(line, StartsWith("ts="));
  EXPECT_THAT(line, HasSubstr(" level=warn service=registry event=rpc_failed method=Approve"));
  EXPECT_THAT(line, HasSubstr(R"( detail="said \"no\" = nope\n")"));
  EXPECT_THAT(line, HasSubstr(R"( empty="")"));
  SetLogServiceName("");
}

TEST(LogTest, TimestampIsUtcIso8601WithMicros) {
  const std::string line = FormatLogLine(LogLevel::kInfo, "x", {});
  // ts=YYYY-MM-DDTHH:MM:SS.uuuuuuZ
  ASSERT_GE(line.size(), 30u);
  EXPECT_EQ(line[7], '-');
  EXPECT_EQ(line[13], 'T');
  EXPECT_EQ(line[29], 'Z');
}

}  // namespace
}  // namespace mlops
