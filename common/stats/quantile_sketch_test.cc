#include "common/stats/quantile_sketch.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <numeric>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kMillion = 1000000;

std::vector<double> Permutation(int64_t n, uint64_t seed) {
  std::vector<double> v(n);
  std::iota(v.begin(), v.end(), 0.0);
  std::mt19937_64 rng(seed);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

// The bound stated in the header: floor(log2(n / k)) + 1 levels, n / k each.
int64_t StatedBound(int64_t n, int k) {
  const int levels = static_cast<int>(std::floor(std::log2(static_cast<double>(n) / k))) + 1;
  return levels * n / k;
}

// Values are 0..n-1, so the true rank (count of values <= x) of x is x + 1.
// Returns the largest observed rank error.
int64_t CheckRanks(const QuantileSketch& s, int64_t n) {
  int64_t worst = 0;
  for (int64_t x = 0; x < n; x += n / 997) {
    const int64_t error = std::llabs(s.Rank(static_cast<double>(x)) - (x + 1));
    worst = std::max(worst, error);
    EXPECT_LE(error, s.MaxRankError()) << "x=" << x;
  }
  return worst;
}

TEST(QuantileSketchTest, ExactBelowCapacity) {
  QuantileSketch s;
  for (double x : Permutation(100, 1)) s.Add(x + 1);  // 1..100
  EXPECT_EQ(s.MaxRankError(), 0);
  EXPECT_THAT(s.Quantiles({0, 0.01, 0.25, 0.5, 0.99, 1}), ElementsAre(1, 1, 25, 50, 99, 100));
  EXPECT_EQ(s.Rank(50.5), 50);
  QuantileSketch four;
  for (double x : {4.0, 2.0, 3.0, 1.0}) four.Add(x);
  EXPECT_EQ(four.Quantile(0.5), 2);  // inverted CDF: rank >= 2
  EXPECT_EQ(four.Quantile(0.51), 3);
  EXPECT_EQ(four.min(), 1);
  EXPECT_EQ(four.max(), 4);
}

TEST(QuantileSketchTest, EmptyGivesNaN) {
  QuantileSketch s;
  EXPECT_TRUE(std::isnan(s.Quantile(0.5)));
  EXPECT_EQ(s.Rank(1), 0);
}

TEST(QuantileSketchTest, RankErrorWithinBoundOnAMillionValues) {
  for (const char* order : {"shuffled", "ascending", "descending"}) {
    std::vector<double> values = Permutation(kMillion, 42);
    if (std::string(order) == "ascending") std::sort(values.begin(), values.end());
    if (std::string(order) == "descending") std::sort(values.rbegin(), values.rend());
    QuantileSketch s;
    for (double x : values) s.Add(x);
    ASSERT_EQ(s.count(), kMillion);
    EXPECT_GT(s.MaxRankError(), 0);
    EXPECT_LE(s.MaxRankError(), StatedBound(kMillion, s.k()));
    EXPECT_LE(s.MaxRankError(), kMillion * 98 / 10000);  // <= 0.98% of n
    const int64_t worst = CheckRanks(s, kMillion);
    std::cout << order << ": bound " << s.MaxRankError() << ", observed max rank error " << worst
              << " (" << 100.0 * worst / kMillion << "% of n), " << s.Serialize().size()
              << " bytes\n";
    for (double q : {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99}) {
      const double v = s.Quantile(q);
      // True rank of value v is v + 1; allow the bound plus one top-level item.
      EXPECT_LE(std::abs(v + 1 - q * kMillion), s.MaxRankError() + 1024) << order << " q=" << q;
    }
  }
}

TEST(QuantileSketchTest, MergedSketchesKeepTheBound) {
  const std::vector<double> values = Permutation(kMillion, 7);
  QuantileSketch merged;
  for (int part = 0; part < 10; ++part) {
    QuantileSketch s;
    for (int64_t i = part * kMillion / 10; i < (part + 1) * kMillion / 10; ++i) s.Add(values[i]);
    ASSERT_TRUE(merged.Merge(s).ok());
  }
  EXPECT_EQ(merged.count(), kMillion);
  EXPECT_EQ(merged.min(), 0);
  EXPECT_EQ(merged.max(), kMillion - 1);
  EXPECT_LE(merged.MaxRankError(), StatedBound(kMillion, merged.k()));
  CheckRanks(merged, kMillion);
}

TEST(QuantileSketchTest, DeterministicForTheSameInputOrder) {
  const std::vector<double> values = Permutation(50000, 3);
  QuantileSketch a, b;
  for (double x : values) a.Add(x);
  for (double x : values) b.Add(x);
  EXPECT_EQ(a.Serialize(), b.Serialize());
}

TEST(QuantileSketchTest, SerializationRoundTrips) {
  QuantileSketch s(64);
  for (double x : Permutation(10000, 5)) s.Add(x * 0.5);
  const std::string bytes = s.Serialize();
  EXPECT_EQ(bytes[0], QuantileSketch::kFormatVersion);
  absl::StatusOr<QuantileSketch> back = QuantileSketch::Deserialize(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->Serialize(), bytes);
  EXPECT_EQ(back->k(), 64);
  EXPECT_EQ(back->MaxRankError(), s.MaxRankError());
  EXPECT_EQ(back->Quantile(0.3), s.Quantile(0.3));
}

TEST(QuantileSketchTest, RejectsMalformedBytes) {
  QuantileSketch s;
  for (int i = 0; i < 10; ++i) s.Add(i);
  const std::string bytes = s.Serialize();
  EXPECT_FALSE(QuantileSketch::Deserialize("").ok());
  EXPECT_FALSE(QuantileSketch::Deserialize(bytes.substr(0, bytes.size() - 1)).ok());
  EXPECT_FALSE(QuantileSketch::Deserialize(bytes + "x").ok());
  std::string wrong_version = bytes;
  wrong_version[0] = 9;
  const absl::Status status = QuantileSketch::Deserialize(wrong_version).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("version 9"));
  std::string wrong_count = bytes;
  wrong_count[5] = 11;  // count's low byte: 10 -> 11
  EXPECT_FALSE(QuantileSketch::Deserialize(wrong_count).ok());
}

TEST(QuantileSketchTest, EmptyIsIdentityButCapacitiesMustMatch) {
  QuantileSketch a(64), b(128), empty(256);
  a.Add(1);
  b.Add(2);
  EXPECT_TRUE(a.Merge(empty).ok());
  EXPECT_TRUE(empty.Merge(a).ok());
  EXPECT_EQ(empty.k(), 64);
  EXPECT_EQ(a.Merge(b).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mlops::stats
