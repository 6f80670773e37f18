#include "services/monitoring/ecdf_comparison.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace mlops::monitoring {
namespace {

// SciPy's ks_2samp and wasserstein_distance, literally: cddiffs at every
// element of data_all = [sorted a, sorted b], first argmax / argmin.
EcdfComparison Reference(const std::vector<double>& a, const std::vector<double>& b) {
  const double n1 = static_cast<double>(a.size());
  const double n2 = static_cast<double>(b.size());
  std::vector<double> all = a;
  all.insert(all.end(), b.begin(), b.end());
  auto cdf = [](const std::vector<double>& s, double x) {
    return static_cast<double>(std::upper_bound(s.begin(), s.end(), x) - s.begin());
  };
  size_t arg_max = 0;
  size_t arg_min = 0;
  std::vector<double> diffs(all.size());
  for (size_t k = 0; k < all.size(); ++k) {
    diffs[k] = cdf(a, all[k]) / n1 - cdf(b, all[k]) / n2;
    if (diffs[k] > diffs[arg_max]) arg_max = k;
    if (diffs[k] < diffs[arg_min]) arg_min = k;
  }
  EcdfComparison out;
  const double min_s = std::clamp(-diffs[arg_min], 0.0, 1.0);
  if (min_s > diffs[arg_max]) {
    out.ks_statistic = min_s;
    out.ks_location = all[arg_min];
    out.ks_sign = -1;
  } else {
    out.ks_statistic = diffs[arg_max];
    out.ks_location = all[arg_max];
    out.ks_sign = 1;
  }
  std::vector<double> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 0; k + 1 < sorted.size(); ++k) {
    out.wasserstein += std::fabs(cdf(a, sorted[k]) / n1 - cdf(b, sorted[k]) / n2) *
                       (sorted[k + 1] - sorted[k]);
  }
  out.distinct_values = std::unique(sorted.begin(), sorted.end()) - sorted.begin();
  return out;
}

void ExpectMatchesReference(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const EcdfComparison want = Reference(a, b);
  const EcdfComparison got =
      CompareSortedSamples(*SortedSample::FromSorted(a), *SortedSample::FromSorted(b));
  EXPECT_EQ(got.ks_statistic, want.ks_statistic);
  EXPECT_EQ(got.ks_location, want.ks_location);
  EXPECT_EQ(got.ks_sign, want.ks_sign);
  EXPECT_NEAR(got.wasserstein, want.wasserstein, 1e-12 * (1 + want.wasserstein));
  EXPECT_EQ(got.distinct_values, want.distinct_values);
}

std::vector<double> Draw(size_t n, int kind, double shift, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(shift, 1.0);
  std::uniform_int_distribution<int> few(0, 9);
  std::vector<double> v(n);
  for (double& x : v) x = kind == 0 ? normal(rng) : few(rng) + shift;
  return v;
}

TEST(CompareSortedSamplesTest, MatchesScipysDefinitionOnSmallSamples) {
  ExpectMatchesReference({1, 2, 2, 3}, {2, 2, 4, 5, 5});
  ExpectMatchesReference({7, 7, 7}, {7, 7});
  ExpectMatchesReference({1, 2, 3}, {4, 5});
  ExpectMatchesReference({4, 5}, {1, 2, 3});
  ExpectMatchesReference({-3.5}, {-3.5, 0, 2});
}

TEST(CompareSortedSamplesTest, MatchesScipysDefinitionAcrossTheSplitWithTies) {
  // Above 2^14 values the merge runs as two chains split at a's median:
  // heavy ties put copies of the split value in both samples.
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    ExpectMatchesReference(Draw(9000, 1, 0.0, seed), Draw(8000, 1, 0.0, seed + 10));
    ExpectMatchesReference(Draw(9000, 1, 0.0, seed), Draw(8000, 1, 3.0, seed + 20));
    ExpectMatchesReference(Draw(12000, 0, 0.0, seed), Draw(7000, 0, 0.2, seed + 30));
  }
  // Disjoint: the low chain holds only a's lower half.
  ExpectMatchesReference(Draw(10000, 0, 0.0, 4), Draw(10000, 0, 50.0, 5));
  ExpectMatchesReference(Draw(10000, 0, 50.0, 6), Draw(10000, 0, 0.0, 7));
  // a constant: its median is its minimum, so no split.
  ExpectMatchesReference(std::vector<double>(9000, 1.0), Draw(9000, 0, 1.0, 8));
}

}  // namespace
}  // namespace mlops::monitoring
