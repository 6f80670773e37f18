#include "common/stats/hyperloglog.h"

#include <cmath>
#include <iostream>
#include <string>

#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

// Three standard errors of p = 14: 3 * 1.04 / sqrt(16384).
constexpr double kThreeSigma = 3 * 1.04 / 128;

std::string Key(int64_t i) { return "value-" + std::to_string(i); }

TEST(HyperLogLogTest, EmptyEstimatesZero) {
  HyperLogLog h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.Estimate(), 0.0);
}

TEST(HyperLogLogTest, MillionDistinctWithinThreeStandardErrors) {
  HyperLogLog h;
  constexpr int64_t n = 1000000;
  for (int64_t i = 0; i < n; ++i) h.AddBytes(Key(i));
  const double relative_error = std::abs(h.Estimate() - n) / n;
  std::cout << "1M distinct: estimate " << h.Estimate() << ", relative error "
            << 100 * relative_error << "%\n";
  EXPECT_LE(relative_error, kThreeSigma);
}

TEST(HyperLogLogTest, AccurateAcrossCardinalities) {
  for (int64_t n : {1, 10, 1000, 20000, 100000}) {
    HyperLogLog h;
    for (int64_t i = 0; i < n; ++i) h.AddBytes(Key(i));
    EXPECT_NEAR(h.Estimate(), n, std::max(0.5, n * kThreeSigma)) << n;
  }
}

TEST(HyperLogLogTest, DuplicatesDoNotCount) {
  HyperLogLog once, five_times;
  for (int i = 0; i < 1000; ++i) once.AddBytes(Key(i));
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 1000; ++i) five_times.AddBytes(Key(i));
  }
  EXPECT_TRUE(once == five_times);
}

TEST(HyperLogLogTest, MergeEqualsSketchOfUnion) {
  HyperLogLog a, b, all;
  for (int64_t i = 0; i < 600000; ++i) a.AddBytes(Key(i));
  for (int64_t i = 400000; i < 1000000; ++i) b.AddBytes(Key(i));
  for (int64_t i = 0; i < 1000000; ++i) all.AddBytes(Key(i));
  a.Merge(b);
  EXPECT_TRUE(a == all);
  EXPECT_LE(std::abs(a.Estimate() - 1e6) / 1e6, kThreeSigma);
}

TEST(HyperLogLogTest, SerializesSparseAndDense) {
  HyperLogLog small, large;
  for (int i = 0; i < 100; ++i) small.AddBytes(Key(i));
  for (int i = 0; i < 100000; ++i) large.AddBytes(Key(i));
  for (const HyperLogLog* h : {&small, &large}) {
    const std::string bytes = h->Serialize();
    EXPECT_EQ(bytes[0], HyperLogLog::kFormatVersion);
    absl::StatusOr<HyperLogLog> back = HyperLogLog::Deserialize(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_TRUE(*back == *h);
  }
  EXPECT_LT(small.Serialize().size(), 400u);            // sparse: 3 bytes per register set
  EXPECT_EQ(large.Serialize().size(), 3u + 16384u);     // dense
}

TEST(HyperLogLogTest, RejectsMalformedBytes) {
  HyperLogLog h;
  h.AddBytes("x");
  const std::string bytes = h.Serialize();
  EXPECT_FALSE(HyperLogLog::Deserialize("").ok());
  EXPECT_FALSE(HyperLogLog::Deserialize(bytes.substr(0, bytes.size() - 1)).ok());
  EXPECT_FALSE(HyperLogLog::Deserialize(bytes + "z").ok());
  std::string wrong_version = bytes;
  wrong_version[0] = 2;
  EXPECT_EQ(HyperLogLog::Deserialize(wrong_version).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string wrong_precision = bytes;
  wrong_precision[1] = 12;
  EXPECT_FALSE(HyperLogLog::Deserialize(wrong_precision).ok());
}

}  // namespace
}  // namespace mlops::stats
