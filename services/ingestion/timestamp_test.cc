#include "services/ingestion/timestamp.h"

#include <string>

#include "gtest/gtest.h"

namespace mlops::ingestion {
namespace {

int64_t Parse(const std::string& s) {
  absl::StatusOr<int64_t> r = ParseRfc3339Micros(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status();
  return r.value_or(-1);
}

std::string Error(const std::string& s) {
  absl::StatusOr<int64_t> r = ParseRfc3339Micros(s);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << s;
  return std::string(r.status().message());
}

TEST(TimestampTest, ParsesUtcAndOffsets) {
  EXPECT_EQ(Parse("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Parse("2023-11-14T22:13:20Z"), 1700000000000000);
  EXPECT_EQ(Parse("2023-11-14t22:13:20z"), 1700000000000000);
  EXPECT_EQ(Parse("2023-11-14 22:13:20Z"), 1700000000000000);
  EXPECT_EQ(Parse("2023-11-15T00:13:20+02:00"), 1700000000000000);
  EXPECT_EQ(Parse("2023-11-14T17:13:20-0500"), 1700000000000000);
  EXPECT_EQ(Parse("1969-12-31T23:59:59Z"), -1000000);
  EXPECT_EQ(Parse("2000-02-29T00:00:00Z"), 951782400000000);
}

TEST(TimestampTest, ParsesFractionsToMicros) {
  EXPECT_EQ(Parse("1970-01-01T00:00:00.5Z"), 500000);
  EXPECT_EQ(Parse("1970-01-01T00:00:00.000001Z"), 1);
  EXPECT_EQ(Parse("1970-01-01T00:00:00.123456789Z"), 123456);  // truncated
  EXPECT_EQ(Parse("1969-12-31T23:59:59.999999Z"), -1);
}

TEST(TimestampTest, RejectsMalformedTimestamps) {
  EXPECT_EQ(Error("2024-01-31"), "expected RFC 3339 like 2024-01-31T12:00:00Z");
  EXPECT_EQ(Error("2024/01/31T00:00:00Z"), "expected RFC 3339 like 2024-01-31T12:00:00Z");
  EXPECT_EQ(Error("1700000000"), "expected RFC 3339 like 2024-01-31T12:00:00Z");
  EXPECT_EQ(Error("2024-01-31T00:00:00"), "missing time zone (Z or +hh:mm)");
  EXPECT_EQ(Error("2024-13-01T00:00:00Z"), "month 13 out of range");
  EXPECT_EQ(Error("2023-02-29T00:00:00Z"), "day 29 out of range");
  EXPECT_EQ(Error("2024-01-01T24:00:00Z"), "hour 24 out of range");
  EXPECT_EQ(Error("2024-01-01T00:60:00Z"), "minute 60 out of range");
  EXPECT_EQ(Error("2024-01-01T00:00:60Z"), "second 60 out of range");
  EXPECT_EQ(Error("0000-01-01T00:00:00Z"), "year 0 out of range");
  EXPECT_EQ(Error("2024-01-01T00:00:00.Z"), "expected digits after '.'");
  EXPECT_EQ(Error("2024-01-01T00:00:00.1234567890Z"), "more than 9 fraction digits");
  EXPECT_EQ(Error("2024-01-01T00:00:00+1"), "invalid time zone offset; expected +hh:mm");
  EXPECT_EQ(Error("2024-01-01T00:00:00+24:00"), "time zone offset out of range");
  EXPECT_EQ(Error("2024-01-01T00:00:00Zjunk"), "unexpected characters after the time zone");
}

TEST(TimestampTest, FormatsAndRoundTrips) {
  EXPECT_EQ(FormatRfc3339Micros(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Micros(1700000000000001), "2023-11-14T22:13:20.000001Z");
  EXPECT_EQ(FormatRfc3339Micros(-1), "1969-12-31T23:59:59.999999Z");
  for (int64_t m : {int64_t{0}, int64_t{-1}, int64_t{951782400123456}, int64_t{253402300799999999}}) {
    EXPECT_EQ(Parse(FormatRfc3339Micros(m)), m);
  }
  EXPECT_EQ(FormatRfc3339Micros(INT64_MAX), "@9223372036854775807");
}

}  // namespace
}  // namespace mlops::ingestion
