#include "services/monitoring/feature_drift.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "services/monitoring/drift_statistics.h"
#include "services/monitoring/ks_test.h"

namespace mlops::monitoring {
namespace {

SortedSample Normal(size_t n, double mean, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(mean, 2.0);
  std::vector<double> v(n);
  for (double& x : v) x = d(rng);
  return *SortedSample::FromValues(std::move(v));
}

SortedSample Binary(size_t n, double share_of_ones, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution d(share_of_ones);
  std::vector<double> v(n);
  for (double& x : v) x = d(rng) ? 1.0 : 0.0;
  return *SortedSample::FromValues(std::move(v));
}

FeatureDriftInput Numerical(const SortedSample* ref, const SortedSample* cur) {
  FeatureDriftInput in;
  in.name = "amount";
  in.numerical.reference_values = ref;
  in.numerical.current_values = cur;
  return in;
}

TEST(FeatureDriftTest, SmallReferenceUsesKsAndMatchesTheDirectFunctions) {
  const SortedSample ref = Normal(800, 0.0, 1);
  const SortedSample cur = Normal(600, 1.0, 2);
  const FeatureDriftResult r = ComputeFeatureDrift(Numerical(&ref, &cur));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.test, StatTest::kKolmogorovSmirnov);
  const KsResult ks = *KsTwoSample(ref, cur);
  EXPECT_EQ(r.ks_statistic, ks.statistic);
  EXPECT_EQ(r.ks_p_value, ks.p_value);
  EXPECT_EQ(r.score, ks.p_value);
  EXPECT_TRUE(r.drifted);
  EXPECT_EQ(r.wasserstein, WassersteinDistance(ref, cur));
  EXPECT_EQ(r.wasserstein_normalized, r.wasserstein / ref.stddev());
  EXPECT_EQ(r.wasserstein_error_bound, 0.0);
  EXPECT_EQ(r.reference_histogram.Total(), 800);
  EXPECT_EQ(r.current_histogram.Total(), 600);
  EXPECT_EQ(r.distinct_values, 1400);
  EXPECT_FALSE(std::isnan(r.psi));
  EXPECT_FALSE(std::isnan(r.jensenshannon));
}

TEST(FeatureDriftTest, LargeReferenceUsesNormedWasserstein) {
  const SortedSample ref = Normal(5000, 0.0, 3);
  const SortedSample same = Normal(4000, 0.0, 4);
  const SortedSample shifted = Normal(4000, 0.5, 5);  // 0.25 stddev
  const FeatureDriftResult calm = ComputeFeatureDrift(Numerical(&ref, &same));
  const FeatureDriftResult drift = ComputeFeatureDrift(Numerical(&ref, &shifted));
  EXPECT_EQ(calm.test, StatTest::kWasserstein);
  EXPECT_EQ(calm.threshold, 0.1);
  EXPECT_FALSE(calm.drifted);
  EXPECT_TRUE(drift.drifted);
  EXPECT_NEAR(drift.score, 0.25, 0.05);
}

TEST(FeatureDriftTest, FewDistinctValuesAreTreatedAsCategories) {
  const SortedSample ref = Binary(500, 0.3, 6);
  const SortedSample cur = Binary(500, 0.6, 7);
  const FeatureDriftResult r = ComputeFeatureDrift(Numerical(&ref, &cur));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.test, StatTest::kZTest);
  EXPECT_EQ(r.categories.keys.size(), 2u);
  EXPECT_EQ(r.categories.keys[0], "0");
  EXPECT_TRUE(r.drifted);
  EXPECT_EQ(r.score, r.z_p_value);
}

TEST(FeatureDriftTest, CategoricalFeatureWithNewCategory) {
  CategoryCounts ref{{{"card", 700}, {"cash", 300}}, 0};
  CategoryCounts cur{{{"card", 650}, {"cash", 300}, {"crypto", 50}}, 0};
  FeatureDriftInput in;
  in.name = "payment";
  in.kind = FeatureKind::kCategorical;
  in.reference_categories = &ref;
  in.current_categories = &cur;
  const FeatureDriftResult r = ComputeFeatureDrift(in);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.test, StatTest::kChiSquare);  // 1000 reference rows, 3 categories
  EXPECT_EQ(r.chi_square_p_value, 0.0);     // "crypto" never seen in the reference
  EXPECT_TRUE(r.drifted);
  in.override = StatTestOverride{StatTest::kJensenShannon, 0.2};
  const FeatureDriftResult js = ComputeFeatureDrift(in);
  EXPECT_EQ(js.test, StatTest::kJensenShannon);
  EXPECT_EQ(js.threshold, 0.2);
  EXPECT_FALSE(js.drifted);
}

TEST(FeatureDriftTest, HistogramsOnlyGiveBoundedStatistics) {
  const SortedSample ref = Normal(3000, 0.0, 8);
  const SortedSample cur = Normal(3000, 0.3, 9);
  const FeatureDriftResult exact = ComputeFeatureDrift(Numerical(&ref, &cur));
  FeatureDriftInput in;
  in.name = "amount";
  in.numerical.reference_histogram = {&exact.reference_histogram, ref.min(), ref.max()};
  in.numerical.current_histogram = {&exact.current_histogram, cur.min(), cur.max()};
  in.numerical.reference_stddev = ref.stddev();
  const FeatureDriftResult sketch = ComputeFeatureDrift(in);
  ASSERT_TRUE(sketch.status.ok()) << sketch.status;
  EXPECT_FALSE(sketch.exact);
  EXPECT_LE(sketch.ks_statistic, exact.ks_statistic);
  EXPECT_GE(sketch.ks_statistic_upper_bound, exact.ks_statistic);
  EXPECT_LE(std::fabs(sketch.wasserstein - exact.wasserstein),
            sketch.wasserstein_error_bound + 1e-12);
  EXPECT_EQ(sketch.psi, exact.psi);  // histogram-native
  EXPECT_EQ(sketch.test, StatTest::kWasserstein);
  // Raw reference, histogram-only current: bins the reference on the same edges.
  in.numerical.reference_values = &ref;
  const FeatureDriftResult mixed = ComputeFeatureDrift(in);
  ASSERT_TRUE(mixed.status.ok()) << mixed.status;
  EXPECT_FALSE(mixed.exact);
  EXPECT_EQ(mixed.ks_statistic, sketch.ks_statistic);
}

TEST(FeatureDriftTest, MissingInputIsAFeatureErrorNotAReportError) {
  const SortedSample ref = Normal(100, 0.0, 10);
  const SortedSample cur = Normal(100, 3.0, 11);
  FeatureDriftInput broken;
  broken.name = "broken";
  broken.numerical.reference_values = &ref;  // no current at all
  std::vector<FeatureDriftInput> inputs = {Numerical(&ref, &cur), broken};
  const DriftReport report = ComputeDriftReport(inputs);
  ASSERT_EQ(report.features.size(), 2u);
  EXPECT_TRUE(report.features[0].status.ok());
  EXPECT_EQ(report.features[1].status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(report.features[1].status.message()).find("broken"), std::string::npos);
  EXPECT_EQ(report.dataset.total_features, 1);
  EXPECT_TRUE(report.dataset.drifted);
}

TEST(FeatureDriftTest, ParallelReportEqualsSequentialInInputOrder) {
  std::vector<SortedSample> refs;
  std::vector<SortedSample> curs;
  for (uint64_t j = 0; j < 12; ++j) {
    refs.push_back(Normal(5000, 0.0, 100 + j));
    curs.push_back(Normal(4000, j % 3 == 0 ? 0.8 : 0.0, 200 + j));
  }
  std::vector<FeatureDriftInput> inputs;
  for (size_t j = 0; j < refs.size(); ++j) {
    inputs.push_back(Numerical(&refs[j], &curs[j]));
    inputs.back().name = "f" + std::to_string(j);
  }
  DriftOptions one;
  one.num_threads = 1;
  DriftOptions four;
  four.num_threads = 4;
  const DriftReport a = ComputeDriftReport(inputs, one);
  const DriftReport b = ComputeDriftReport(inputs, four);
  ASSERT_EQ(a.features.size(), b.features.size());
  for (size_t j = 0; j < a.features.size(); ++j) {
    EXPECT_EQ(b.features[j].name, "f" + std::to_string(j));
    EXPECT_EQ(a.features[j].score, b.features[j].score);
    EXPECT_EQ(a.features[j].drifted, b.features[j].drifted);
    EXPECT_EQ(a.features[j].drifted, j % 3 == 0) << j << " " << a.features[j].score << " "
                                                 << StatTestName(a.features[j].test);
  }
  EXPECT_EQ(a.dataset.drifted_features, 4);
  EXPECT_FALSE(a.dataset.drifted);  // 4 of 12 < 0.5
}

}  // namespace
}  // namespace mlops::monitoring
