#include "services/monitoring/stat_test_selection.h"

#include "gtest/gtest.h"

namespace mlops::monitoring {
namespace {

using K = FeatureKind;
using T = StatTest;

TEST(DefaultStatTestTest, FollowsEvidentlysRules) {
  struct Row {
    K kind;
    int64_t rows;
    int64_t unique;
    T want;
    double threshold;
  };
  const Row rows[] = {
      {K::kNumerical, 1000, 6, T::kKolmogorovSmirnov, 0.05},
      {K::kNumerical, 1000, 5, T::kChiSquare, 0.05},
      {K::kNumerical, 1000, 3, T::kChiSquare, 0.05},
      {K::kNumerical, 1000, 2, T::kZTest, 0.05},
      {K::kCategorical, 1000, 40, T::kChiSquare, 0.05},
      {K::kCategorical, 10, 2, T::kZTest, 0.05},
      {K::kNumerical, 1001, 6, T::kWasserstein, 0.1},
      {K::kNumerical, 1001, 5, T::kJensenShannon, 0.1},
      {K::kCategorical, 1001, 2, T::kJensenShannon, 0.1},
      {K::kCategorical, 5000000, 900, T::kJensenShannon, 0.1},
  };
  for (const Row& r : rows) {
    const StatTestChoice c = DefaultStatTest(r.kind, r.rows, r.unique);
    EXPECT_EQ(c.test, r.want) << r.rows << " rows, " << r.unique << " unique";
    EXPECT_EQ(c.threshold, r.threshold);
  }
}

TEST(StatTestTest, PValueTestsDriftBelowDistancesAtOrAbove) {
  EXPECT_TRUE(IsDrifted(T::kKolmogorovSmirnov, 0.049, 0.05));
  EXPECT_FALSE(IsDrifted(T::kKolmogorovSmirnov, 0.05, 0.05));
  EXPECT_TRUE(IsDrifted(T::kWasserstein, 0.1, 0.1));
  EXPECT_FALSE(IsDrifted(T::kJensenShannon, 0.099, 0.1));
  EXPECT_TRUE(IsDrifted(T::kPsi, 0.2, 0.1));
}

TEST(StatTestTest, NamesRoundTrip) {
  for (T t : {T::kKolmogorovSmirnov, T::kChiSquare, T::kZTest, T::kWasserstein,
              T::kJensenShannon, T::kPsi}) {
    absl::StatusOr<T> parsed = ParseStatTest(StatTestName(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(ParseStatTest("anderson").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChooseStatTestTest, OverrideWinsAndIsValidated) {
  absl::StatusOr<StatTestChoice> psi =
      ChooseStatTest(K::kNumerical, 100, 50, StatTestOverride{T::kPsi, 0.25});
  ASSERT_TRUE(psi.ok());
  EXPECT_EQ(psi->test, T::kPsi);
  EXPECT_EQ(psi->threshold, 0.25);
  absl::StatusOr<StatTestChoice> def =
      ChooseStatTest(K::kNumerical, 100, 50, StatTestOverride{T::kJensenShannon, std::nullopt});
  EXPECT_EQ(def->threshold, 0.1);
  EXPECT_EQ(ChooseStatTest(K::kCategorical, 100, 5, StatTestOverride{T::kKolmogorovSmirnov, {}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChooseStatTest(K::kNumerical, 100, 50, StatTestOverride{T::kPsi, -1.0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DatasetDriftTest, ShareAtThresholdIsDrift) {
  const DatasetDrift half = ComputeDatasetDrift({true, false, true, false});
  EXPECT_EQ(half.drifted_features, 2);
  EXPECT_EQ(half.total_features, 4);
  EXPECT_EQ(half.drifted_share, 0.5);
  EXPECT_TRUE(half.drifted);
  EXPECT_FALSE(ComputeDatasetDrift({true, false, false}).drifted);
  EXPECT_TRUE(ComputeDatasetDrift({true, false, false}, 0.3).drifted);
  EXPECT_FALSE(ComputeDatasetDrift({}).drifted);
}

}  // namespace
}  // namespace mlops::monitoring
