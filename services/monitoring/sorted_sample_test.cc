#include "services/monitoring/sorted_sample.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::monitoring {
namespace {

std::vector<double> Shuffled(std::vector<double> v, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

TEST(RadixSortTest, MatchesStdSortOnLargeMixedInput) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0, 1e3);
  std::vector<double> v(50000);
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = i % 5 == 0 ? std::round(normal(rng)) : normal(rng);  // ties too
  }
  v[10] = std::numeric_limits<double>::max();
  v[11] = -std::numeric_limits<double>::max();
  v[12] = std::numeric_limits<double>::denorm_min();
  v[13] = -std::numeric_limits<double>::denorm_min();
  v[14] = 0.0;
  std::vector<double> expected = v;
  std::sort(expected.begin(), expected.end());
  RadixSortFinite(&v);
  EXPECT_EQ(v, expected);
}

TEST(RadixSortTest, FinishesRunsSharingTheTopBitsOfAllSizes) {
  // The sort orders by the top 32 key bits first, then finishes each run of
  // equal top bits: by insertion sort, std::sort or radix on the low bits.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> tiny(0, 1e-9);
  std::vector<double> v;
  for (int run = 0; run < 40; ++run) {
    const int size = run % 4 == 0 ? 3000 : (run % 4 == 1 ? 200 : (run % 4 == 2 ? 9 : 1));
    for (int i = 0; i < size; ++i) v.push_back(1000.0 * (run + 1) + tiny(rng) * (run + 1));
  }
  v = Shuffled(v, 12);
  std::vector<double> expected = v;
  std::sort(expected.begin(), expected.end());
  RadixSortFinite(&v);
  EXPECT_EQ(v, expected);
  // One run holding everything: values within 1e-4 of 1000.
  std::uniform_real_distribution<double> narrow(1000.0, 1000.0001);
  std::vector<double> w(20000);
  for (double& x : w) x = narrow(rng);
  std::vector<double> w_expected = w;
  std::sort(w_expected.begin(), w_expected.end());
  RadixSortFinite(&w);
  EXPECT_EQ(w, w_expected);
}

TEST(RadixSortTest, SortsSmallInputsAndAllEqualValues) {
  std::vector<double> small = {3, -1, 2.5, -7, 0};
  RadixSortFinite(&small);
  EXPECT_THAT(small, ::testing::ElementsAre(-7, -1, 0, 2.5, 3));
  std::vector<double> same(5000, 4.25);
  RadixSortFinite(&same);
  EXPECT_EQ(same, std::vector<double>(5000, 4.25));
}

TEST(RadixSortTest, NegativeZeroBecomesPositiveZero) {
  std::vector<double> v = Shuffled(std::vector<double>(4000, -0.0), 3);
  v[17] = 1.0;
  v[18] = -1.0;
  RadixSortFinite(&v);
  EXPECT_EQ(v.front(), -1.0);
  EXPECT_EQ(v.back(), 1.0);
  EXPECT_FALSE(std::signbit(v[1]));
}

TEST(RadixSortTest, ReusesScratchAcrossCalls) {
  std::vector<uint64_t> scratch;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-5, 5);
    std::vector<double> v(3000 * seed);
    for (double& x : v) x = u(rng);
    std::vector<double> expected = v;
    std::sort(expected.begin(), expected.end());
    RadixSortFinite(&v, &scratch);
    EXPECT_EQ(v, expected);
  }
}

TEST(SortedSampleTest, FromValuesSortsAndComputesPopulationMoments) {
  absl::StatusOr<SortedSample> s = SortedSample::FromValues({4, 2, 8, 6});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->values(), ::testing::ElementsAre(2, 4, 6, 8));
  EXPECT_EQ(s->min(), 2);
  EXPECT_EQ(s->max(), 8);
  EXPECT_DOUBLE_EQ(s->mean(), 5);
  EXPECT_DOUBLE_EQ(s->stddev(), std::sqrt(5.0));  // numpy.std, ddof = 0
}

TEST(SortedSampleTest, RejectsNonFiniteValuesNamingTheIndex) {
  absl::StatusOr<SortedSample> nan = SortedSample::FromValues({1, 2, std::nan("")});
  EXPECT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(nan.status().message()), ::testing::HasSubstr("value 2: NaN"));
  absl::StatusOr<SortedSample> inf =
      SortedSample::FromValues({std::numeric_limits<double>::infinity()});
  EXPECT_THAT(std::string(inf.status().message()), ::testing::HasSubstr("value 0: infinity"));
}

TEST(SortedSampleTest, FromSortedRejectsUnsortedInput) {
  EXPECT_TRUE(SortedSample::FromSorted({1, 1, 2}).ok());
  absl::StatusOr<SortedSample> bad = SortedSample::FromSorted({1, 3, 2});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("value 2"));
}

TEST(SortedSampleTest, EmptySampleHasNaNMoments) {
  absl::StatusOr<SortedSample> s = SortedSample::FromValues({});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->empty());
  EXPECT_TRUE(std::isnan(s->mean()));
  EXPECT_TRUE(std::isnan(s->stddev()));
}

TEST(SortColumnsTest, SortsEveryColumnInOrderAndNamesTheBadColumn) {
  std::vector<std::vector<double>> columns;
  for (int c = 0; c < 7; ++c) {
    std::vector<double> v(3000 + 100 * c);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 7919 + c) % 1013);
    columns.push_back(v);
  }
  std::vector<std::vector<double>> expected = columns;
  for (auto& v : expected) std::sort(v.begin(), v.end());
  absl::StatusOr<std::vector<SortedSample>> sorted = SortColumns(columns, 3);
  ASSERT_TRUE(sorted.ok()) << sorted.status();
  ASSERT_EQ(sorted->size(), 7u);
  for (size_t c = 0; c < 7; ++c) EXPECT_EQ((*sorted)[c].values(), expected[c]) << c;
  columns[4][9] = std::nan("");
  absl::StatusOr<std::vector<SortedSample>> bad = SortColumns(columns, 2);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("column 4, value 9"));
}

}  // namespace
}  // namespace mlops::monitoring
