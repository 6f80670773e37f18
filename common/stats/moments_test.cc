#include "common/stats/moments.h"

#include <cmath>

#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

Moments Of(std::initializer_list<double> xs) {
  Moments m;
  for (double x : xs) m.Add(x);
  return m;
}

TEST(MomentsTest, MatchesHandComputedValues) {
  // mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; variance 4.
  const Moments m = Of({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_EQ(m.count(), 8);
  EXPECT_DOUBLE_EQ(m.mean(), 5.0);
  EXPECT_DOUBLE_EQ(m.m2(), 32.0);
  EXPECT_DOUBLE_EQ(m.variance(), 4.0);
  EXPECT_DOUBLE_EQ(m.stddev(), 2.0);
  EXPECT_EQ(m.min(), 2.0);
  EXPECT_EQ(m.max(), 9.0);
}

TEST(MomentsTest, MergeEqualsConcatenation) {
  // {2,4,4,4}: mean 3.5, M2 3; {5,5,7,9}: mean 6.5, M2 11;
  // merged M2 = 3 + 11 + 3^2 * 4 * 4 / 8 = 32.
  Moments a = Of({2, 4, 4, 4});
  EXPECT_DOUBLE_EQ(a.m2(), 3.0);
  a.Merge(Of({5, 5, 7, 9}));
  EXPECT_EQ(a.count(), 8);
  EXPECT_DOUBLE_EQ(a.mean(), 5.0);
  EXPECT_DOUBLE_EQ(a.m2(), 32.0);
  EXPECT_EQ(a.min(), 2.0);
  EXPECT_EQ(a.max(), 9.0);
}

TEST(MomentsTest, EmptyIsIdentityOfMerge) {
  Moments empty;
  EXPECT_EQ(empty.count(), 0);
  EXPECT_EQ(empty.stddev(), 0.0);
  EXPECT_EQ(empty.min(), 0.0);
  Moments a = Of({1, 3});
  a.Merge(empty);
  EXPECT_EQ(a.count(), 2);
  empty.Merge(a);
  EXPECT_DOUBLE_EQ(empty.mean(), 2.0);
  EXPECT_DOUBLE_EQ(empty.m2(), 2.0);
}

TEST(MomentsTest, StaysAccurateFarFromZero) {
  // Deviations -6, -3, 3, 6 around 1e9 + 10: variance (36+9+9+36)/4 = 22.5.
  const Moments m = Of({1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16});
  EXPECT_DOUBLE_EQ(m.mean(), 1e9 + 10);
  EXPECT_NEAR(m.variance(), 22.5, 1e-6);
}

TEST(MomentsTest, FromPartsRoundTrips) {
  const Moments a = Of({1, 2, 3, 4});
  const Moments b = Moments::FromParts(a.count(), a.mean(), a.m2(), a.min(), a.max());
  EXPECT_EQ(b.count(), 4);
  EXPECT_DOUBLE_EQ(b.stddev(), std::sqrt(1.25));
  EXPECT_EQ(Moments::FromParts(0, 7, 7, 7, 7).count(), 0);
}

}  // namespace
}  // namespace mlops::stats
