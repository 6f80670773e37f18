// Agreement with SciPy 1.10 on the committed vectors (testdata/
// scipy_vectors.txt, written by testdata/make_vectors.py).
//
// Tolerance (kTol = 1e-9): |ours - scipy| <= 1e-9 * max(1, |scipy|), i.e.
// absolute for values up to 1 (all p-values, KS and JS statistics) and
// relative above (chi-square statistics, Wasserstein, PSI). P-values are
// moreover held to a relative 1e-9 (kRelTol) down to DBL_MIN, so a p-value of
// 1e-30 cannot pass as 0; subnormal results (< 2.2e-308) carry no relative
// precision in SciPy either and get only the absolute bound.
// Statistics that SciPy computes by the same floating-point steps (the KS
// statistic and its location) must match exactly. Each test prints the
// largest absolute and relative differences it saw.

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/monitoring/drift_statistics.h"
#include "services/monitoring/histogram.h"
#include "services/monitoring/ks_distribution.h"
#include "services/monitoring/ks_test.h"
#include "services/monitoring/special_functions.h"

namespace mlops::monitoring {
namespace {

constexpr double kTol = 1e-9;
constexpr double kRelTol = 1e-9;

class Record {
 public:
  explicit Record(const std::string& line) {
    std::istringstream in(line);
    std::string tok;
    while (in >> tok) tokens_.push_back(tok);
  }
  bool empty() const { return tokens_.empty(); }
  std::string Str() { return tokens_.at(pos_++); }
  double Num() {
    const std::string t = Str();
    if (t == "inf") return INFINITY;
    if (t == "-inf") return -INFINITY;
    if (t == "nan") return NAN;
    return std::strtod(t.c_str(), nullptr);  // std::stod rejects subnormals
  }
  int64_t Int() { return std::stoll(Str()); }
  std::vector<double> Array() {
    const int64_t n = Int();
    std::vector<double> out;
    for (int64_t i = 0; i < n; ++i) out.push_back(Num());
    return out;
  }
  bool AtEnd() const { return pos_ == tokens_.size(); }

 private:
  std::vector<std::string> tokens_;
  size_t pos_ = 0;
};

std::vector<Record> Load(const std::string& kind) {
  std::ifstream in(std::string(MLOPS_MONITORING_TESTDATA_DIR) + "/scipy_vectors.txt");
  EXPECT_TRUE(in.good()) << "cannot open scipy_vectors.txt";
  std::vector<Record> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, kind.size() + 1, kind + " ") != 0) continue;
    Record r(line);
    r.Str();  // the kind
    out.push_back(std::move(r));
  }
  EXPECT_FALSE(out.empty()) << "no records of kind " << kind;
  return out;
}

// Largest differences seen by the running test; printed by ~ErrorReport.
struct ErrorReport {
  double max_abs = 0;
  double max_rel = 0;  // over reference values >= DBL_MIN
  ~ErrorReport() {
    std::cout << "    max |ours - scipy| = " << max_abs << ", max relative = " << max_rel
              << "\n";
  }
};
ErrorReport* current_report = nullptr;

::testing::AssertionResult Close(double ours, double scipy, bool is_probability) {
  if (std::isnan(scipy) && std::isnan(ours)) return ::testing::AssertionSuccess();
  if (std::isinf(scipy) && ours == scipy) return ::testing::AssertionSuccess();
  const double diff = std::fabs(ours - scipy);
  if (current_report != nullptr) {
    current_report->max_abs = std::max(current_report->max_abs, diff);
    if (std::fabs(scipy) >= DBL_MIN) {
      current_report->max_rel = std::max(current_report->max_rel, diff / std::fabs(scipy));
    }
  }
  if (!(diff <= kTol * std::max(1.0, std::fabs(scipy)))) {
    return ::testing::AssertionFailure() << "ours " << ours << " scipy " << scipy << " diff "
                                         << diff;
  }
  if (is_probability && scipy >= DBL_MIN && !(diff <= kRelTol * scipy)) {
    return ::testing::AssertionFailure() << "p-value: ours " << ours << " scipy " << scipy
                                         << " relative diff " << diff / scipy;
  }
  return ::testing::AssertionSuccess();
}

TEST(ScipyVectorsTest, KsTwoSampleMatchesScipy) {
  ErrorReport report;
  current_report = &report;
  for (Record& r : Load("ks2samp")) {
    const std::string name = r.Str();
    std::vector<double> a = r.Array();
    std::vector<double> b = r.Array();
    const double statistic = r.Num();
    const double p_value = r.Num();
    const double location = r.Num();
    const int sign = static_cast<int>(r.Int());
    ASSERT_TRUE(r.AtEnd()) << name;
    absl::StatusOr<KsResult> got = KsTwoSample(std::move(a), std::move(b));
    ASSERT_TRUE(got.ok()) << name << ": " << got.status();
    EXPECT_EQ(got->statistic, statistic) << name;
    EXPECT_TRUE(Close(got->p_value, p_value, true)) << name;
    EXPECT_EQ(got->statistic_location, location) << name;
    EXPECT_EQ(got->statistic_sign, sign) << name;
  }
}

TEST(ScipyVectorsTest, ExactPValueMatchesScipy) {
  ErrorReport report;
  current_report = &report;
  for (Record& r : Load("ks_exact")) {
    const int64_t n1 = r.Int();
    const int64_t n2 = r.Int();
    const double d = r.Num();
    const bool success = r.Int() != 0;
    const double d_rounded = r.Num();
    const double p = r.Num();
    const KsExactAttempt got = KsTwoSampleExactAttempt(n1, n2, d);
    SCOPED_TRACE(::testing::Message() << "n1=" << n1 << " n2=" << n2 << " d=" << d);
    EXPECT_EQ(got.success, success);
    EXPECT_EQ(got.d, d_rounded);
    EXPECT_TRUE(Close(got.p_value, p, true));
  }
}

TEST(ScipyVectorsTest, KolmogorovTwoSidedSfMatchesKstwo) {
  ErrorReport report;
  current_report = &report;
  for (Record& r : Load("kstwo_sf")) {
    const int64_t n = r.Int();
    const double d = r.Num();
    const double sf = r.Num();
    EXPECT_TRUE(Close(KolmogorovTwoSidedSf(n, d), sf, true)) << "n=" << n << " d=" << d;
  }
}

TEST(ScipyVectorsTest, SmirnovSfMatchesScipySpecial) {
  ErrorReport report;
  current_report = &report;
  for (Record& r : Load("smirnov")) {
    const int n = static_cast<int>(r.Int());
    const double d = r.Num();
    const double sf = r.Num();
    EXPECT_TRUE(Close(SmirnovSf(n, d), sf, true)) << "n=" << n << " d=" << d;
  }
}

TEST(ScipyVectorsTest, ChiSquareSfMatchesChi2) {
  ErrorReport report;
  current_report = &report;
  for (Record& r : Load("chi2_sf")) {
    const double df = r.Num();
    const double x = r.Num();
    const double sf = r.Num();
    EXPECT_TRUE(Close(ChiSquareSf(x, df), sf, true)) << "df=" << df << " x=" << x;
  }
}

TEST(ScipyVectorsTest, ChiSquareMatchesScipy) {
  ErrorReport report;
  current_report = &report;
  for (Record& r : Load("chisquare")) {
    const std::string name = r.Str();
    const std::vector<double> obs = r.Array();
    const std::vector<double> exp = r.Array();
    const double statistic = r.Num();
    const double p = r.Num();
    absl::StatusOr<ChiSquareResult> got = ChiSquare(obs, exp);
    ASSERT_TRUE(got.ok()) << name << ": " << got.status();
    EXPECT_TRUE(Close(got->statistic, statistic, false)) << name;
    EXPECT_TRUE(Close(got->p_value, p, true)) << name;
  }
}

TEST(ScipyVectorsTest, JensenShannonMatchesScipy) {
  ErrorReport report;
  current_report = &report;
  for (Record& r : Load("jensenshannon")) {
    const std::string name = r.Str();
    const double base = r.Num();
    const std::vector<double> p = r.Array();
    const std::vector<double> q = r.Array();
    const double value = r.Num();
    absl::StatusOr<double> got =
        JensenShannonDistance(p, q, base == 0 ? std::nullopt : std::optional<double>(base));
    ASSERT_TRUE(got.ok()) << name << ": " << got.status();
    EXPECT_TRUE(Close(*got, value, false)) << name;
  }
}

TEST(ScipyVectorsTest, WassersteinMatchesScipy) {
  ErrorReport report;
  current_report = &report;
  for (Record& r : Load("wasserstein")) {
    const std::string name = r.Str();
    std::vector<double> u = r.Array();
    std::vector<double> v = r.Array();
    const double value = r.Num();
    absl::StatusOr<double> got = WassersteinDistance(std::move(u), std::move(v));
    ASSERT_TRUE(got.ok()) << name << ": " << got.status();
    EXPECT_TRUE(Close(*got, value, false)) << name;
  }
}

TEST(ScipyVectorsTest, PsiMatchesNumpyFormula) {
  ErrorReport report;
  current_report = &report;
  for (Record& r : Load("psi")) {
    const std::string name = r.Str();
    const std::vector<double> ref = r.Array();
    const std::vector<double> cur = r.Array();
    const double value = r.Num();
    absl::StatusOr<double> got = PopulationStabilityIndex(ref, cur);
    ASSERT_TRUE(got.ok()) << name << ": " << got.status();
    EXPECT_TRUE(Close(*got, value, false)) << name;
  }
}

TEST(ScipyVectorsTest, PsiOfRawValuesOnEdgesMatchesNumpy) {
  ErrorReport report;
  current_report = &report;
  for (Record& r : Load("psi_raw")) {
    const std::string name = r.Str();
    const std::vector<double> edges = r.Array();
    std::vector<double> ref = r.Array();
    std::vector<double> cur = r.Array();
    const double value = r.Num();
    absl::StatusOr<SortedSample> ref_sorted = SortedSample::FromValues(std::move(ref));
    absl::StatusOr<SortedSample> cur_sorted = SortedSample::FromValues(std::move(cur));
    ASSERT_TRUE(ref_sorted.ok() && cur_sorted.ok()) << name;
    absl::StatusOr<stats::Histogram> ref_h = HistogramOfSorted(*ref_sorted, edges);
    absl::StatusOr<stats::Histogram> cur_h = HistogramOfSorted(*cur_sorted, edges);
    ASSERT_TRUE(ref_h.ok() && cur_h.ok()) << name;
    absl::StatusOr<double> got = PopulationStabilityIndex(BinsWithOutliersAsDoubles(*ref_h),
                                                          BinsWithOutliersAsDoubles(*cur_h));
    ASSERT_TRUE(got.ok()) << name << ": " << got.status();
    EXPECT_TRUE(Close(*got, value, false)) << name;
  }
}

}  // namespace
}  // namespace mlops::monitoring
