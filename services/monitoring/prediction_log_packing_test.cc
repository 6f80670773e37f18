// The stored form of a prediction-log batch (packed columns, big-endian) and
// GetPerformance's grouping of the unpacked rows (windows, percentile_disc,
// label joins).
#include <string>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"
#include "services/monitoring/performance_groups.h"
#include "services/monitoring/prediction_log_packing.h"

namespace mlops::monitoring {
namespace {

const PredictionBatchKey kKey{"fraud", 3, "fraud_ep", 2};

PredictionLogBatch Sample() {
  PredictionLogBatch b(kKey.model, kKey.version, kKey.endpoint, kKey.variant);
  b.features_buffer()->append(std::string("\x00\x01\xff", 3));
  b.Add("r-0", 2000, 0.25, "", 900, "");
  b.Add("", 1000, std::nullopt, "yes", -1, "UNAVAILABLE");  // features empty
  b.features_buffer()->append("zz");
  b.Add("r-\t2", 3000, -0.0, "no", 1 << 20, "");
  return b;
}

void ExpectSameRows(const PredictionLogBatch& a, const PredictionLogBatch& b, bool features) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a.request_id(i), b.request_id(i)) << i;
    EXPECT_EQ(a.timestamp_micros(i), b.timestamp_micros(i)) << i;
    EXPECT_EQ(a.score(i), b.score(i)) << i;
    EXPECT_EQ(a.predicted_label(i), b.predicted_label(i)) << i;
    EXPECT_EQ(a.latency_micros(i), b.latency_micros(i)) << i;
    EXPECT_EQ(a.error_code(i), b.error_code(i)) << i;
    EXPECT_EQ(b.features(i), features ? a.features(i) : "") << i;
  }
}

TEST(PredictionLogPackingTest, RoundTripsEveryColumn) {
  const PredictionLogBatch b = Sample();
  const PackedPredictionBatch p = PackPredictionBatch(b);
  EXPECT_EQ(p.min_timestamp_micros, 1000);
  EXPECT_EQ(p.max_timestamp_micros, 3000);
  absl::StatusOr<PredictionLogBatch> back = UnpackPredictionBatch(kKey, 3, p.meta, p.features);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->model(), "fraud");
  EXPECT_EQ(back->version(), 3);
  EXPECT_EQ(back->endpoint(), "fraud_ep");
  EXPECT_EQ(back->variant(), 2);
  ExpectSameRows(b, *back, true);
  // Without the features column (what GetPerformance reads).
  back = UnpackPredictionBatch(kKey, 3, p.meta, "");
  ASSERT_TRUE(back.ok()) << back.status();
  ExpectSameRows(b, *back, false);
}

TEST(PredictionLogPackingTest, NumbersAreBigEndianAsPostgresSendsThem) {
  PredictionLogBatch b("m", 1, "e", 0);
  b.Add("ab", 0x0102030405060708, 1.0, "", 9, "");
  const PackedPredictionBatch p = PackPredictionBatch(b);
  // int8send(timestamp), int8send(latency), float8send(1.0), has_score,
  // int4send(2), int4send(0) x 2, "ab".
  const std::string expected("\x01"
                             "\x01\x02\x03\x04\x05\x06\x07\x08"
                             "\x00\x00\x00\x00\x00\x00\x00\x09"
                             "\x3f\xf0\x00\x00\x00\x00\x00\x00"
                             "\x01"
                             "\x00\x00\x00\x02"
                             "\x00\x00\x00\x00"
                             "\x00\x00\x00\x00"
                             "ab",
                             1 + 8 + 8 + 8 + 1 + 12 + 2);
  EXPECT_EQ(p.meta, expected);
  EXPECT_EQ(p.features, std::string("\x01\x00\x00\x00\x00", 5));
}

TEST(PredictionLogPackingTest, DamagedBlobsAreRejected) {
  const PackedPredictionBatch p = PackPredictionBatch(Sample());
  EXPECT_TRUE(absl::IsInvalidArgument(UnpackPredictionBatch(kKey, 4, p.meta, "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(UnpackPredictionBatch(kKey, 2, p.meta, "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      UnpackPredictionBatch(kKey, 3, p.meta.substr(0, p.meta.size() - 1), "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(UnpackPredictionBatch(kKey, 3, "", "").status()));
  std::string wrong_version = p.meta;
  wrong_version[0] = 2;
  EXPECT_TRUE(absl::IsInvalidArgument(UnpackPredictionBatch(kKey, 3, wrong_version, "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      UnpackPredictionBatch(kKey, 3, p.meta, p.features + "x").status()));
}

TEST(PerformanceGroupsTest, PercentileDiscMatchesPostgres) {
  // percentile_disc(f): the value at 1-based row ceil(f * n) of the sorted values.
  std::vector<int64_t> v = {5, 1, 4, 2, 3};
  EXPECT_EQ(PercentileDisc(0.5, &v), 3);   // ceil(2.5) = 3rd
  EXPECT_EQ(PercentileDisc(0.99, &v), 5);  // ceil(4.95) = 5th
  EXPECT_EQ(PercentileDisc(0.0, &v), 1);
  std::vector<int64_t> four = {40, 10, 30, 20};
  EXPECT_EQ(PercentileDisc(0.5, &four), 20);  // ceil(2.0) = 2nd
  std::vector<int64_t> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(i);
  EXPECT_EQ(PercentileDisc(0.99, &hundred), 99);
  std::vector<int64_t> none;
  EXPECT_EQ(PercentileDisc(0.5, &none), 0);
}

TEST(PerformanceGroupsTest, GroupsByVersionAndWindowAndJoinsLabels) {
  PerformanceQuery q;
  q.model = "fraud";
  q.start_micros = 1000;
  q.end_micros = 3000;  // excludes 3000
  q.window_micros = 1000;
  PerformanceAccumulator acc(q);
  PredictionLogBatch v3 = Sample();  // ts 2000, 1000, 3000
  PredictionLogBatch v1("fraud", 1, "fraud_ep", 0);
  v1.Add("x", 1500, 0.9, "", 10, "");
  v1.Add("y", 999, 0.9, "", 10, "");  // before the range
  PredictionLogBatch other("other", 1, "e", 0);
  other.Add("r-0", 1500, 0.9, "", 10, "");
  LabelValue yes;
  yes.kind = LabelValue::Kind::kBool;
  yes.number = 1;
  const std::unordered_map<std::string_view, LabelValue> labels = {{"r-0", yes}, {"x", yes}};
  acc.Add(v3, labels);
  acc.Add(v1, labels);
  acc.Add(other, labels);
  const std::vector<PerformanceGroup> groups = acc.Finish();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].version, 1);
  EXPECT_EQ(groups[0].window_start_micros, 1000);
  EXPECT_EQ(groups[0].predictions, 1);
  EXPECT_EQ(groups[0].labelled, 1);
  EXPECT_EQ(groups[1].version, 3);
  EXPECT_EQ(groups[1].window_start_micros, 1000);
  EXPECT_EQ(groups[1].predictions, 1);
  EXPECT_EQ(groups[1].errors, 1);
  EXPECT_EQ(groups[1].p99_latency_micros, -1);
  EXPECT_EQ(groups[1].labelled, 0);
  EXPECT_EQ(groups[2].window_start_micros, 2000);
  ASSERT_EQ(groups[2].pairs.size(), 1u);
  EXPECT_EQ(groups[2].pairs[0].score, 0.25);
  EXPECT_EQ(groups[2].pairs[0].label.number, 1);

  q.version = 3;
  q.window_micros = 0;  // one group per version, starting at the range's start
  PerformanceAccumulator one(q);
  one.Add(v3, labels);
  one.Add(v1, labels);
  const std::vector<PerformanceGroup> whole = one.Finish();
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].window_start_micros, 1000);
  EXPECT_EQ(whole[0].predictions, 2);
  EXPECT_EQ(whole[0].p50_latency_micros, -1);
  EXPECT_EQ(whole[0].p99_latency_micros, 900);
}

}  // namespace
}  // namespace mlops::monitoring
