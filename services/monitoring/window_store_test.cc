#include "services/monitoring/window_store.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mlops::monitoring {
namespace {

constexpr int64_t kMinute = 60'000'000;

LoggedRecord Record(int64_t t, double x, const std::string& c, double score) {
  LoggedRecord r;
  r.timestamp_micros = t;
  r.features.resize(2);
  r.features[0].kind = LoggedValue::Kind::kNumber;
  r.features[0].number = x;
  r.features[1].kind = LoggedValue::Kind::kText;
  r.features[1].text = c;
  r.score = score;
  r.latency_micros = 100;
  return r;
}

std::shared_ptr<const WindowBinning> Binning() {
  auto b = std::make_shared<WindowBinning>();
  b->edges["x"] = {0, 1, 2, 3};
  return b;
}

const std::vector<std::string> kNames = {"x", "c"};

TEST(WindowStoreTest, RecordsLandInTheirTumblingWindow) {
  WindowStore store;
  std::vector<LoggedRecord> recs = {Record(10, 0.5, "a", 0.1), Record(kMinute - 1, 1.5, "b", 0.2),
                                    Record(kMinute, 2.5, "a", 0.3)};
  WindowStore::AddResult r = store.Add("m", 1, kMinute, kNames, recs, Binning());
  EXPECT_EQ(r.added, 3);
  EXPECT_EQ(r.late, 0);
  int merged = 0;
  absl::StatusOr<WindowData> w = store.Merge("m", 1, 0, kMinute, &merged);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(merged, 1);
  EXPECT_EQ(w->rows, 2);
  const FeatureWindow& x = w->features.at("x");
  EXPECT_EQ(x.raw, (std::vector<double>{0.5, 1.5}));
  ASSERT_TRUE(x.histogram.has_value());
  EXPECT_EQ(x.histogram->data().counts, (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(w->features.at("c").categories.total(), 2);
  EXPECT_EQ(w->features.at(kPredictionFeature).raw, (std::vector<double>{0.1, 0.2}));
}

TEST(WindowStoreTest, MergeAddsWindowsInRange) {
  WindowStore store;
  store.Add("m", 1, kMinute, kNames,
            {Record(0, 0.5, "a", 0.1), Record(kMinute, 1.5, "a", 0.1),
             Record(2 * kMinute, 2.5, "a", 0.1)},
            Binning());
  int merged = 0;
  absl::StatusOr<WindowData> w = store.Merge("m", 1, 0, 2 * kMinute, &merged);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(merged, 2);
  EXPECT_EQ(w->start_micros, 0);
  EXPECT_EQ(w->end_micros, 2 * kMinute);
  EXPECT_EQ(w->features.at("x").histogram->data().counts, (std::vector<int64_t>{1, 1, 0}));
}

TEST(WindowStoreTest, RawValuesStopAtTheCapButHistogramsCountEverything) {
  WindowStoreOptions options;
  options.max_raw_values_per_feature = 2;
  WindowStore store(options);
  store.Add("m", 1, kMinute, kNames,
            {Record(0, 0.5, "a", 0.1), Record(1, 1.5, "a", 0.1), Record(2, 2.5, "a", 0.1)},
            Binning());
  int merged = 0;
  absl::StatusOr<WindowData> w = store.Merge("m", 1, 0, 0, &merged);
  ASSERT_TRUE(w.ok());
  const FeatureWindow& x = w->features.at("x");
  EXPECT_EQ(x.raw.size(), 2u);
  EXPECT_FALSE(x.raw_complete);
  EXPECT_EQ(x.histogram->data().Total(), 3);
  EXPECT_EQ(x.numeric_count, 3);
}

TEST(WindowStoreTest, NullsAreCountedApart) {
  WindowStore store;
  LoggedRecord r = Record(0, 1, "a", 0.5);
  r.features[0].kind = LoggedValue::Kind::kNull;
  r.score.reset();
  r.error = true;
  store.Add("m", 1, kMinute, kNames, {r}, nullptr);
  int merged = 0;
  absl::StatusOr<WindowData> w = store.Merge("m", 1, 0, 0, &merged);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->errors, 1);
  EXPECT_EQ(w->features.at("x").null_count, 1);
  EXPECT_EQ(w->features.at("x").count, 0);
  EXPECT_EQ(w->features.at(kPredictionFeature).null_count, 1);
}

TEST(WindowStoreTest, OldWindowsAreDroppedAndLateRecordsCounted) {
  WindowStoreOptions options;
  options.max_windows_per_version = 2;
  WindowStore store(options);
  store.Add("m", 1, kMinute, kNames,
            {Record(0, 1, "a", 0), Record(kMinute, 1, "a", 0), Record(2 * kMinute, 1, "a", 0)},
            nullptr);
  WindowStore::AddResult r = store.Add("m", 1, kMinute, kNames, {Record(5, 1, "a", 0)}, nullptr);
  EXPECT_EQ(r.late, 1);
  EXPECT_EQ(r.added, 0);
  int merged = 0;
  EXPECT_EQ(store.Merge("m", 1, 0, kMinute, &merged).status().code(), absl::StatusCode::kNotFound);
}

TEST(WindowStoreTest, LatestWindowSkipsTheOpenOneUnlessAsked) {
  WindowStore store;
  store.Add("m", 1, kMinute, kNames, {Record(0, 1, "a", 0), Record(kMinute, 1, "a", 0)}, nullptr);
  EXPECT_EQ(store.LatestWindowStart("m", 1, kMinute + 5, false), 0);
  EXPECT_EQ(store.LatestWindowStart("m", 1, kMinute + 5, true), kMinute);
  EXPECT_FALSE(store.LatestWindowStart("m", 2, kMinute + 5, true).has_value());
}

TEST(WindowStoreTest, LatestVersionIsTheOneLoggedLast) {
  WindowStore store;
  store.Add("m", 3, kMinute, kNames, {Record(0, 1, "a", 0)}, nullptr);
  store.Add("m", 2, kMinute, kNames, {Record(0, 1, "a", 0)}, nullptr);
  EXPECT_EQ(store.LatestVersion("m"), 2);
  EXPECT_FALSE(store.LatestVersion("other").has_value());
}

}  // namespace
}  // namespace mlops::monitoring
