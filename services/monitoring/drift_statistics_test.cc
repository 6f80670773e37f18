#include "services/monitoring/drift_statistics.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "services/monitoring/special_functions.h"

namespace mlops::monitoring {
namespace {

TEST(ChiSquareTest, ExpectedZeroWithObservedCountsGivesInfinityAndPValueZero) {
  absl::StatusOr<ChiSquareResult> r = ChiSquare({5, 30, 10}, {0, 35, 10});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(std::isinf(r->statistic));
  EXPECT_EQ(r->p_value, 0.0);
}

TEST(ChiSquareTest, RejectsMismatchedOrInvalidInput) {
  EXPECT_EQ(ChiSquare({1, 2}, {1, 2, 3}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChiSquare({10, 10}, {10, 11}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChiSquare({-1, 3}, {1, 1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChiSquare({0, 4}, {0, 4}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChiSquare({4}, {4}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChiSquareTest, OfCountsScalesReferenceToCurrentTotal) {
  // Same shares, different totals: statistic 0.
  absl::StatusOr<ChiSquareResult> same = ChiSquareOfCounts({10, 30, 60}, {1, 3, 6});
  ASSERT_TRUE(same.ok());
  EXPECT_NEAR(same->statistic, 0.0, 1e-12);
  EXPECT_NEAR(same->p_value, 1.0, 1e-12);
  // Keys absent on both sides are dropped; one key left: no drift.
  absl::StatusOr<ChiSquareResult> one = ChiSquareOfCounts({0, 7}, {0, 3});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->p_value, 1.0);
  // chi2.sf(stat, 2) for three categories.
  absl::StatusOr<ChiSquareResult> r = ChiSquareOfCounts({100, 100, 100}, {10, 20, 30});
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->statistic, 10.0, 1e-12);  // (10-20)^2/20 + 0 + (30-20)^2/20
  EXPECT_NEAR(r->p_value, std::exp(-5.0), 1e-15);
}

TEST(JensenShannonTest, BoundsSymmetryAndBase) {
  absl::StatusOr<double> same = JensenShannonDistance({1, 2, 3}, {2, 4, 6}, 2.0);
  ASSERT_TRUE(same.ok());
  EXPECT_NEAR(*same, 0.0, 1e-8);
  absl::StatusOr<double> disjoint = JensenShannonDistance({1, 0}, {0, 1}, 2.0);
  EXPECT_NEAR(*disjoint, 1.0, 1e-15);
  absl::StatusOr<double> natural = JensenShannonDistance({1, 0}, {0, 1});
  EXPECT_NEAR(*natural, std::sqrt(std::log(2.0)), 1e-15);
  EXPECT_EQ(*JensenShannonDistance({1, 5, 2}, {3, 1, 1}), *JensenShannonDistance({3, 1, 1}, {1, 5, 2}));
  EXPECT_EQ(JensenShannonDistance({1, 2}, {1, 2}, 1.0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JensenShannonDistance({0, 0}, {1, 2}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WassersteinTest, ShiftByConstantIsTheConstant) {
  std::vector<double> u = {0.5, 1.5, 4, 9, 9};
  std::vector<double> v = u;
  for (double& x : v) x += 2.25;
  absl::StatusOr<double> w = WassersteinDistance(u, v);
  ASSERT_TRUE(w.ok());
  EXPECT_NEAR(*w, 2.25, 1e-15);
  EXPECT_EQ(*WassersteinDistance({0, 1, 3}, {5, 6, 8}), 5.0);  // SciPy's docstring
  EXPECT_EQ(WassersteinDistance({}, {1}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WassersteinTest, NormalizedByReferenceStddevWithFloor) {
  EXPECT_DOUBLE_EQ(NormalizedWasserstein(0.5, 2.0), 0.25);
  EXPECT_DOUBLE_EQ(NormalizedWasserstein(0.5, 0.0), 500.0);  // max(std, 0.001)
}

TEST(PsiTest, EmptyBinsGetEvidentlysEpsilon) {
  EXPECT_EQ(PsiEmptyBinFraction({0, 0.5, 0.5}), 0.0001);
  EXPECT_EQ(PsiEmptyBinFraction({0, 0.00005, 0.99995}), 0.00005 / 1e6);
  EXPECT_EQ(*PopulationStabilityIndex({10, 20, 30}, {20, 40, 60}), 0.0);
  // One bin empty on the current side: (0.5 - 1e-4) ln(0.5 / 1e-4) + (0.5 - 1) ln(0.5).
  absl::StatusOr<double> psi = PopulationStabilityIndex({50, 50}, {0, 100});
  ASSERT_TRUE(psi.ok());
  EXPECT_NEAR(*psi, (0.5 - 1e-4) * std::log(0.5 / 1e-4) + (0.5 - 1.0) * std::log(0.5), 1e-12);
  EXPECT_EQ(PopulationStabilityIndex({1, 2}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ZTestTest, MatchesEvidentlysProportionsTest) {
  // Evidently / scipy.stats.norm: z = -2.886751345948129, p = 0.003892417122778628.
  absl::StatusOr<ZTestResult> z = ProportionsZTest(30, 100, 50, 100);
  ASSERT_TRUE(z.ok());
  EXPECT_NEAR(z->statistic, -2.886751345948129, 1e-13);
  EXPECT_NEAR(z->p_value, 0.003892417122778628, 1e-15);
  absl::StatusOr<ZTestResult> constant = ProportionsZTest(100, 100, 40, 40);
  EXPECT_EQ(constant->p_value, 1.0);
  EXPECT_EQ(ProportionsZTest(5, 4, 1, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SpecialFunctionsTest, GammaIdentities) {
  for (double x : {0.001, 0.3, 1.0, 2.5, 10.0, 80.0}) {
    // exp(log x - x) carries a relative error ~ x * 1e-16, in SciPy too.
    EXPECT_NEAR(RegularizedGammaQ(1.0, x), std::exp(-x), 1e-13 * std::exp(-x));
    EXPECT_NEAR(RegularizedGammaQ(0.5, x), std::erfc(std::sqrt(x)), 1e-13 * std::erfc(std::sqrt(x)));
    EXPECT_NEAR(RegularizedGammaP(3.5, x) + RegularizedGammaQ(3.5, x), 1.0, 1e-15);
    EXPECT_NEAR(ChiSquareSf(x, 2.0), std::exp(-x / 2), 1e-15);
  }
  EXPECT_EQ(ChiSquareSf(0.0, 3.0), 1.0);
  EXPECT_EQ(ChiSquareSf(INFINITY, 3.0), 0.0);
  EXPECT_TRUE(std::isnan(RegularizedGammaQ(-1.0, 1.0)));
  EXPECT_NEAR(NormalSf(0.0), 0.5, 1e-16);
}

}  // namespace
}  // namespace mlops::monitoring
