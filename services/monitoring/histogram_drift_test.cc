// The sketch statistics' bounds hold against the exact values.
#include "services/monitoring/histogram_drift.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "services/monitoring/ecdf_comparison.h"
#include "services/monitoring/histogram.h"
#include "services/monitoring/sorted_sample.h"

namespace mlops::monitoring {
namespace {

SortedSample Sample(size_t n, int shape, double shift, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(shift, 1.0);
  std::exponential_distribution<double> expo(1.0);
  std::uniform_int_distribution<int> small(0, 6);
  std::vector<double> v(n);
  for (double& x : v) {
    if (shape == 0) x = normal(rng);
    if (shape == 1) x = expo(rng) + shift;
    if (shape == 2) x = small(rng) + shift;  // heavy ties
  }
  return *SortedSample::FromValues(std::move(v));
}

struct Case {
  size_t n1;
  size_t n2;
  int shape;
  double shift;
  double lo;
  double hi;
  int bins;
};

class HistogramBoundsTest : public ::testing::TestWithParam<Case> {};

TEST_P(HistogramBoundsTest, KsAndWassersteinBoundsContainExactValues) {
  const Case c = GetParam();
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const SortedSample ref = Sample(c.n1, c.shape, 0.0, seed);
    const SortedSample cur = Sample(c.n2, c.shape, c.shift, seed + 100);
    const std::vector<double> edges = stats::ChooseHistogramEdges(c.lo, c.hi, c.bins);
    const stats::Histogram hr = *HistogramOfSorted(ref, edges);
    const stats::Histogram hc = *HistogramOfSorted(cur, edges);
    const EcdfComparison exact = CompareSortedSamples(ref, cur);

    absl::StatusOr<HistogramKsResult> ks = KsFromHistograms(hr, hc);
    ASSERT_TRUE(ks.ok()) << ks.status();
    EXPECT_LE(ks->statistic, exact.ks_statistic);
    EXPECT_GE(ks->statistic_upper_bound, exact.ks_statistic);
    EXPECT_LE(ks->statistic_upper_bound - ks->statistic, ks->max_bin_mass + 1e-15);
    EXPECT_GE(ks->p_value, ks->p_value_lower_bound);

    absl::StatusOr<HistogramWassersteinResult> w = WassersteinFromHistograms(
        {&hr, ref.min(), ref.max()}, {&hc, cur.min(), cur.max()});
    ASSERT_TRUE(w.ok()) << w.status();
    const double slack = 1e-12 * (1 + exact.wasserstein);
    EXPECT_LE(w->lower_bound, exact.wasserstein + slack);
    EXPECT_GE(w->upper_bound, exact.wasserstein - slack);
    EXPECT_LE(std::fabs(w->distance - exact.wasserstein), w->error_bound() + slack);
    // upper - lower <= sum of width * (p + q) <= 2 * widest bin.
    double widest = edges[1] - edges[0];
    widest = std::max(widest, edges.front() - std::min(ref.min(), cur.min()));
    widest = std::max(widest, std::max(ref.max(), cur.max()) - edges.back());
    EXPECT_LE(w->upper_bound - w->lower_bound, 2 * widest + slack);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, HistogramBoundsTest,
    ::testing::Values(Case{2000, 1500, 0, 0.0, -2, 2, 20},   // outliers on both sides
                      Case{2000, 1500, 0, 0.5, -4, 4, 10},
                      Case{5000, 300, 1, 0.2, 0, 5, 40},
                      Case{800, 900, 2, 0.0, -0.5, 6.5, 7},   // one value per bin
                      Case{800, 900, 2, 1.0, 0, 6, 3},
                      Case{20000, 20000, 0, 0.05, -3, 3, 20}));

TEST(HistogramKsTest, ExactWhenEveryBinHoldsOneValue) {
  // Integers 0..6 with edges at the half-integers: the CDFs are known at
  // every value, so the histogram statistic is the exact one.
  const SortedSample ref = Sample(700, 2, 0.0, 1);
  const SortedSample cur = Sample(500, 2, 0.0, 2);
  const std::vector<double> edges = {-0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5};
  absl::StatusOr<HistogramKsResult> ks =
      KsFromHistograms(*HistogramOfSorted(ref, edges), *HistogramOfSorted(cur, edges));
  ASSERT_TRUE(ks.ok());
  EXPECT_EQ(ks->statistic, CompareSortedSamples(ref, cur).ks_statistic);
}

TEST(HistogramStatisticsTest, PsiJsAndChiSquareUseBinsWithOutliers) {
  stats::Histogram a{{0, 1, 2}, {10, 20}, 5, 0};
  stats::Histogram b{{0, 1, 2}, {15, 10}, 0, 5};
  // Underflow (5 vs 0) and overflow (0 vs 5) are bins; none is empty on both.
  EXPECT_EQ(*PsiFromHistograms(a, b),
            *PopulationStabilityIndex({5, 10, 20, 0}, {0, 15, 10, 5}));
  EXPECT_EQ(*JensenShannonFromHistograms(a, b, 2.0),
            *JensenShannonDistance({5, 10, 20, 0}, {0, 15, 10, 5}, 2.0));
  EXPECT_EQ(ChiSquareFromHistograms(a, b)->p_value, 0.0);  // overflow new in current
}

TEST(HistogramStatisticsTest, RejectsIncomparableHistograms) {
  stats::Histogram a{{0, 1, 2}, {10, 20}, 0, 0};
  stats::Histogram other_edges{{0, 1, 3}, {10, 20}, 0, 0};
  stats::Histogram empty{{0, 1, 2}, {0, 0}, 0, 0};
  stats::Histogram bad_counts{{0, 1, 2}, {10}, 0, 0};
  EXPECT_EQ(KsFromHistograms(a, other_edges).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KsFromHistograms(a, empty).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PsiFromHistograms(bad_counts, a).status().code(),
            absl::StatusCode::kInvalidArgument);
  stats::Histogram with_underflow{{0, 1, 2}, {10, 20}, 3, 0};
  EXPECT_EQ(WassersteinFromHistograms({&with_underflow}, {&a}).status().code(),
            absl::StatusCode::kInvalidArgument);  // underflow but no min
}

TEST(HistogramOfSortedTest, CountsLikeFixedHistogram) {
  const SortedSample s = *SortedSample::FromValues({-1, 0, 0.5, 1, 1, 2, 3, 3.5});
  absl::StatusOr<stats::Histogram> h = HistogramOfSorted(s, {0, 1, 2, 3});
  ASSERT_TRUE(h.ok());
  absl::StatusOr<stats::FixedHistogram> fixed = stats::FixedHistogram::Create({0, 1, 2, 3});
  for (double x : s.values()) fixed->Add(x);
  EXPECT_EQ(*h, fixed->data());
  EXPECT_EQ(h->underflow, 1);
  EXPECT_EQ(h->overflow, 1);
}

}  // namespace
}  // namespace mlops::monitoring
