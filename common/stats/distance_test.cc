#include "common/stats/distance.h"

#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

TEST(DistanceTest, PsiMatchesHandComputedValue) {
  // 0.4 ln(0.9/0.5) + (-0.4) ln(0.1/0.5)
  absl::StatusOr<double> psi = PopulationStabilityIndex({50, 50}, {90, 10});
  ASSERT_TRUE(psi.ok());
  EXPECT_NEAR(*psi, 0.8788898309344878, 1e-12);
  EXPECT_NEAR(*PopulationStabilityIndex({3, 5, 2}, {6, 10, 4}), 0.0, 1e-15);
}

TEST(DistanceTest, PsiReplacesEmptyBinsByEpsilon) {
  // expected (1, 1e-4), actual (0.5, 0.5).
  absl::StatusOr<double> psi = PopulationStabilityIndex({100, 0}, {50, 50});
  ASSERT_TRUE(psi.ok());
  EXPECT_NEAR(*psi, 4.60431846666895, 1e-9);
}

TEST(DistanceTest, JensenShannonMatchesScipy) {
  // scipy.spatial.distance.jensenshannon(p, q, base=2)
  EXPECT_NEAR(*JensenShannonDistance({1, 1}, {1, 0}), 0.5579230452841438, 1e-12);
  EXPECT_NEAR(*JensenShannonDistance({1, 2, 3, 4}, {4, 3, 2, 1}), 0.3918681606471551, 1e-12);
  EXPECT_NEAR(*JensenShannonDistance({1, 0}, {0, 1}), 1.0, 1e-12);
  EXPECT_NEAR(*JensenShannonDistance({2, 2}, {5, 5}), 0.0, 1e-12);
}

TEST(DistanceTest, RejectsMismatchedOrEmptyDistributions) {
  EXPECT_EQ(PopulationStabilityIndex({1, 2}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PopulationStabilityIndex({0, 0}, {1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JensenShannonDistance({1, -1}, {1, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JensenShannonDistance({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mlops::stats
