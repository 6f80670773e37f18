#include "services/monitoring/window_drift.h"

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mlops::monitoring {
namespace {

constexpr int64_t kMinute = 60'000'000;

// Reference: "stable" and "shifted" ~ N(0, 1), "color" in {red, blue}.
ReferenceData MakeReference(int n) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal(0, 1);
  ReferenceData ref;
  ref.profile.row_count = n;
  std::vector<double> stable, shifted;
  auto stable_b = stats::ColumnProfileBuilder::Create("stable", stats::DataType::kDouble);
  auto shifted_b = stats::ColumnProfileBuilder::Create("shifted", stats::DataType::kDouble);
  auto color_b = stats::ColumnProfileBuilder::Create("color", stats::DataType::kString);
  for (int i = 0; i < n; ++i) {
    const double a = normal(rng);
    const double b = normal(rng);
    stable.push_back(a);
    shifted.push_back(b);
    stable_b->AddDouble(a);
    shifted_b->AddDouble(b);
    color_b->AddString(i % 2 == 0 ? "red" : "blue");
  }
  ref.profile.columns = {stable_b->Finish(), shifted_b->Finish(), color_b->Finish()};
  ref.samples.emplace("stable", *SortedSample::FromValues(stable));
  ref.samples.emplace("shifted", *SortedSample::FromValues(shifted));
  return ref;
}

WindowData MakeWindow(const ReferenceData& ref, int n, int64_t raw_cap) {
  auto binning = std::make_shared<WindowBinning>();
  for (const stats::ColumnProfile& c : ref.profile.columns) {
    if (!c.histogram.edges.empty() && c.type == stats::DataType::kDouble) {
      binning->edges[c.name] = c.histogram.edges;
    }
  }
  WindowStoreOptions options;
  options.max_raw_values_per_feature = raw_cap;
  WindowStore store(options);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0, 1);
  std::vector<LoggedRecord> records;
  for (int i = 0; i < n; ++i) {
    LoggedRecord r;
    r.timestamp_micros = i;
    r.features.resize(3);
    r.features[0] = {LoggedValue::Kind::kNumber, normal(rng), ""};
    r.features[1] = {LoggedValue::Kind::kNumber, normal(rng) + 1.5, ""};
    r.features[2] = {LoggedValue::Kind::kText, 0, i % 2 == 0 ? "red" : "blue"};
    r.score = 0.5;
    records.push_back(std::move(r));
  }
  store.Add("m", 1, kMinute, {"stable", "shifted", "color"}, records, binning);
  int merged = 0;
  return *store.Merge("m", 1, 0, 0, &merged);
}

const FeatureDriftOutcome& Find(const WindowDriftReport& r, const std::string& name) {
  for (const FeatureDriftOutcome& f : r.features) {
    if (f.result.name == name) return f;
  }
  ADD_FAILURE() << "no feature " << name;
  return r.features.front();
}

TEST(WindowDriftTest, FlagsTheShiftedFeatureOnlyWithExactStatistics) {
  const ReferenceData ref = MakeReference(500);
  const WindowData window = MakeWindow(ref, 400, 100000);
  const WindowDriftReport report = ComputeWindowDrift(ref, window, {}, DriftSettings{});
  ASSERT_EQ(report.features.size(), 3u);
  const FeatureDriftOutcome& shifted = Find(report, "shifted");
  const FeatureDriftOutcome& stable = Find(report, "stable");
  ASSERT_TRUE(shifted.computed) << shifted.note;
  ASSERT_TRUE(stable.computed) << stable.note;
  EXPECT_EQ(shifted.result.test, StatTest::kKolmogorovSmirnov);  // reference <= 1000 rows
  EXPECT_TRUE(shifted.result.exact);
  EXPECT_TRUE(shifted.result.drifted);
  EXPECT_FALSE(stable.result.drifted)
      << stable.result.ks_statistic << " p=" << stable.result.ks_p_value
      << " n=" << stable.result.reference_count << "/" << stable.result.current_count;
  EXPECT_FALSE(Find(report, "color").result.drifted);
  EXPECT_EQ(report.dataset.drifted_features, 1);
  EXPECT_EQ(report.dataset.total_features, 3);
  EXPECT_FALSE(report.dataset.drifted);      // 1/3 < 0.5
  EXPECT_FALSE(report.prediction.computed);  // no prediction reference
}

TEST(WindowDriftTest, FallsBackToHistogramsBeyondTheRawCap) {
  const ReferenceData ref = MakeReference(5000);
  const WindowData window = MakeWindow(ref, 400, 10);
  const WindowDriftReport report = ComputeWindowDrift(ref, window, {"shifted"}, DriftSettings{});
  ASSERT_EQ(report.features.size(), 1u);
  const FeatureDriftOutcome& shifted = report.features[0];
  ASSERT_TRUE(shifted.computed) << shifted.note;
  EXPECT_FALSE(shifted.result.exact);
  EXPECT_EQ(shifted.result.test, StatTest::kWasserstein);  // reference > 1000 rows
  EXPECT_TRUE(shifted.result.drifted);
}

TEST(WindowDriftTest, ConfiguredThresholdReplacesTheDefault) {
  const ReferenceData ref = MakeReference(5000);
  const WindowData window = MakeWindow(ref, 400, 100000);
  DriftSettings settings;
  settings.thresholds[StatTest::kWasserstein] = 100.0;  // nothing drifts that much
  const WindowDriftReport report = ComputeWindowDrift(ref, window, {"shifted"}, settings);
  ASSERT_TRUE(report.features[0].computed);
  EXPECT_EQ(report.features[0].result.threshold, 100.0);
  EXPECT_FALSE(report.features[0].result.drifted);
}

TEST(WindowDriftTest, OverrideChoosesTheTest) {
  const ReferenceData ref = MakeReference(5000);
  const WindowData window = MakeWindow(ref, 400, 100000);
  DriftSettings settings;
  settings.overrides["shifted"] = StatTestOverride{StatTest::kPsi, std::nullopt};
  const WindowDriftReport report = ComputeWindowDrift(ref, window, {"shifted"}, settings);
  ASSERT_TRUE(report.features[0].computed);
  EXPECT_EQ(report.features[0].result.test, StatTest::kPsi);
  EXPECT_EQ(report.features[0].test_reason, "override");
}

TEST(WindowDriftTest, FeatureWithoutReferenceColumnIsNotComputed) {
  const ReferenceData ref = MakeReference(100);
  const WindowData window = MakeWindow(ref, 100, 100000);
  const WindowDriftReport report = ComputeWindowDrift(ref, window, {"nope"}, DriftSettings{});
  ASSERT_EQ(report.features.size(), 1u);
  EXPECT_FALSE(report.features[0].computed);
  EXPECT_EQ(report.features[0].note, "no reference column");
  EXPECT_EQ(report.dataset.total_features, 0);
}

}  // namespace
}  // namespace mlops::monitoring
