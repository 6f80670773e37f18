#include "services/monitoring/ks_test.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "services/monitoring/ks_distribution.h"

namespace mlops::monitoring {
namespace {

std::vector<double> Normal(size_t n, double mean, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(mean, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = d(rng);
  return v;
}

TEST(KsTwoSampleTest, DisjointEqualSamplesHaveExactPValueTwoOverBinomial) {
  absl::StatusOr<KsResult> r = KsTwoSample(std::vector<double>{1, 2, 3, 4, 5},
                                           std::vector<double>{6, 7, 8, 9, 10});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->statistic, 1.0);
  EXPECT_NEAR(r->p_value, 2.0 / 252.0, 1e-15);  // 2 / C(10, 5)
  EXPECT_EQ(r->method, KsPValueMethod::kExact);
  EXPECT_EQ(r->statistic_location, 5.0);
  EXPECT_EQ(r->statistic_sign, 1);
}

TEST(KsTwoSampleTest, SwappingSamplesFlipsTheSignOnly) {
  const std::vector<double> a = Normal(300, 0.0, 1);
  const std::vector<double> b = Normal(200, 0.4, 2);
  absl::StatusOr<KsResult> ab = KsTwoSample(a, b);
  absl::StatusOr<KsResult> ba = KsTwoSample(b, a);
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_EQ(ab->statistic, ba->statistic);
  EXPECT_EQ(ab->p_value, ba->p_value);
  EXPECT_EQ(ab->statistic_sign, -ba->statistic_sign);
}

TEST(KsTwoSampleTest, IdenticalSamplesHavePValueOne) {
  const std::vector<double> a = Normal(1000, 0.0, 3);
  absl::StatusOr<KsResult> r = KsTwoSample(a, a);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->statistic, 0.0);
  EXPECT_EQ(r->p_value, 1.0);
}

TEST(KsTwoSampleTest, ExactUpToTenThousandThenAsymptotic) {
  const std::vector<double> a = Normal(10000, 0.0, 4);
  const std::vector<double> b = Normal(50, 0.0, 5);
  absl::StatusOr<KsResult> exact = KsTwoSample(a, b);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->method, KsPValueMethod::kExact);
  std::vector<double> a2 = a;
  a2.push_back(0.123);
  absl::StatusOr<KsResult> asymp = KsTwoSample(a2, b);
  ASSERT_TRUE(asymp.ok());
  EXPECT_EQ(asymp->method, KsPValueMethod::kAsymptotic);
}

TEST(KsTwoSampleTest, ExactAndAsymptoticAgreeRoughlyForLargeSamples) {
  // SciPy: ks_2samp(arange(5000), arange(5000) + 100.5) = (0.0202, 0.25945...).
  std::vector<double> a(5000);
  std::vector<double> b(5000);
  for (int i = 0; i < 5000; ++i) {
    a[i] = i;
    b[i] = i + 100.5;
  }
  absl::StatusOr<KsResult> r = KsTwoSample(a, b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->statistic, 0.0202);
  EXPECT_NEAR(r->p_value, 0.25945194403220523, 1e-12);
  EXPECT_NEAR(KsTwoSampleAsymptoticPValue(5000, 5000, 0.0202), r->p_value, 0.01);
}

TEST(KsTwoSampleTest, EmptyOrNonFiniteSamplesAreInvalid) {
  EXPECT_EQ(KsTwoSample(std::vector<double>{}, std::vector<double>{1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KsTwoSample(std::vector<double>{1, NAN}, std::vector<double>{1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KsTwoSampleTest, HopelessExactPValueIsZeroWithoutTheRecursion) {
  // SciPy spends ~1.5 s here and returns 0.0.
  const KsExactAttempt r = KsTwoSampleExactAttempt(10000, 9000, 0.9);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.p_value, 0.0);
  EXPECT_EQ(r.d, 0.9);
}

TEST(KolmogorovDistributionTest, SupportAndClosedForms) {
  EXPECT_EQ(KolmogorovTwoSidedSf(10, 0.05), 1.0);  // d <= 0.5 / n
  EXPECT_EQ(KolmogorovTwoSidedSf(10, 1.0), 0.0);
  EXPECT_NEAR(KolmogorovTwoSidedSf(1, 0.6), 0.8, 1e-15);  // 2 (1 - d) for n = 1
  EXPECT_TRUE(std::isnan(KolmogorovTwoSidedSf(0, 0.5)));
  EXPECT_NEAR(SmirnovSf(1, 0.3), 0.7, 1e-15);
  EXPECT_NEAR(SmirnovSf(5, 0.9), std::pow(0.1, 5), 1e-18);  // (1 - d)^n for d >= 1 - 1/n
  EXPECT_TRUE(std::isnan(SmirnovSf(5, 1.5)));
}

TEST(KolmogorovDistributionTest, SurvivalFunctionDecreasesInD) {
  for (int64_t n : {3, 50, 141, 5000, 500000}) {
    double prev = 1.0;
    for (double d = 0.0005; d < 1.0; d *= 1.15) {
      const double sf = KolmogorovTwoSidedSf(n, d);
      EXPECT_LE(sf, prev + 1e-12) << "n=" << n << " d=" << d;
      EXPECT_GE(sf, 0.0);
      prev = sf;
    }
  }
}

}  // namespace
}  // namespace mlops::monitoring
