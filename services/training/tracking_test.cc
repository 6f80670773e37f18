// Unit tests of the tracking domain: validation, the run state machine,
// page tokens, the ListRuns query builder and the packed metric blocks.
#include <cmath>
#include <limits>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/training/metric_blocks.h"
#include "services/training/run_query.h"
#include "services/training/tracking.h"

namespace mlops::training {
namespace {

using ::testing::HasSubstr;

TEST(ValidationTest, AcceptsPlatformNamesAndRejectsOthers) {
  MLOPS_EXPECT_OK(ValidateName("name", "churn_model_2"));
  EXPECT_THAT(ValidateName("name", "Churn"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateName("name", ""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateName("name", std::string(64, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ValidationTest, KeyOver250BytesIsRejectedNamingTheKey) {
  std::string key(251, 'k');
  EXPECT_THAT(ValidateParams({{key, "1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 250")));
  MLOPS_EXPECT_OK(ValidateParams({{std::string(250, 'k'), "1"}}));
  EXPECT_THAT(ValidateParams({{"bad key", "1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"bad key\"")));
}

TEST(ValidationTest, ParamAndTagValueLimitsNameTheKey) {
  EXPECT_THAT(ValidateParams({{"lr", std::string(6001, 'x')}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"lr\"")));
  MLOPS_EXPECT_OK(ValidateParams({{"lr", std::string(6000, 'x')}}));
  EXPECT_THAT(ValidateTags({{"note", std::string(5001, 'x')}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"note\"")));
  MLOPS_EXPECT_OK(ValidateTags({{"note", std::string(5000, 'x')}}));
}

TEST(ValidationTest, MetricPointNaNAndInfinityNameThePoint) {
  MetricPoint nan{"loss", std::nan(""), 1, 0};
  EXPECT_THAT(ValidateMetricPoint(3, 17, nan),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("message 3, points[17] \"loss\": NaN not allowed")));
  MetricPoint inf{"loss", std::numeric_limits<double>::infinity(), 1, 0};
  EXPECT_THAT(ValidateMetricPoint(0, 2, inf),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("points[2]")));
  MetricPoint neg{"loss", 1.0, -1, 0};
  EXPECT_THAT(ValidateMetricPoint(0, 0, neg),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative step")));
  MLOPS_EXPECT_OK(ValidateMetricPoint(0, 0, MetricPoint{"val/auc", 0.5, 0, 0}));
}

TEST(ValidationTest, RunIdsAndArtifactPaths) {
  MLOPS_EXPECT_OK(ValidateRunId("run-0123456789abcdef"));
  EXPECT_THAT(ValidateRunId("run-0123456789ABCDEF"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateRunId("job-0123456789abcdef"), StatusIs(absl::StatusCode::kInvalidArgument));
  MLOPS_EXPECT_OK(ValidateArtifactPath("model/model.json"));
  EXPECT_THAT(ValidateArtifactPath("/etc/passwd"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateArtifactPath("a/../b"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateArtifactPath("a/./b"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateArtifactPath("a b"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ValidationTest, RunInputsAreCheckedForForm) {
  RunInputs in;
  in.dataset = "orders";
  in.dataset_version_id = std::string(64, 'a');
  in.feature_refs = {"user_stats:spend", "user_stats@3:count", "user_stats:*"};
  in.feature_view_versions = {"user_stats@3"};
  MLOPS_EXPECT_OK(ValidateRunInputs(in));
  in.feature_view_versions = {"user_stats"};
  EXPECT_THAT(ValidateRunInputs(in), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("feature_view_versions")));
  in.feature_view_versions = {};
  in.feature_refs = {"no_colon"};
  EXPECT_THAT(ValidateRunInputs(in), StatusIs(absl::StatusCode::kInvalidArgument));
  in.feature_refs = {};
  in.dataset_version_id = "abc";
  EXPECT_THAT(ValidateRunInputs(in), StatusIs(absl::StatusCode::kInvalidArgument,
                                              HasSubstr("dataset_version_id")));
}

RunHead Running() {
  RunHead h;
  h.id = "run-0000000000000001";
  h.status = RunStatus::kRunning;
  h.start_time_micros = 100;
  return h;
}

TEST(RunStateMachineTest, EndMovesRunningForward) {
  auto d = DecideEnd(Running(), RunStatus::kUnspecified, 200, "");
  ASSERT_THAT(d, IsOk());
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->status, RunStatus::kSucceeded);
  EXPECT_EQ((*d)->end_time_micros, 200);
}

TEST(RunStateMachineTest, EndAgainWithSameStatusIsNoOpAndOtherStatusFails) {
  RunHead h = Running();
  h.status = RunStatus::kFailed;
  auto same = DecideEnd(h, RunStatus::kFailed, 300, "");
  ASSERT_THAT(same, IsOk());
  EXPECT_FALSE(same->has_value());
  EXPECT_THAT(DecideEnd(h, RunStatus::kSucceeded, 300, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(RunStateMachineTest, EndRejectsNonTerminalStatusEarlyEndAndJobRuns) {
  EXPECT_THAT(DecideEnd(Running(), RunStatus::kRunning, 200, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecideEnd(Running(), RunStatus::kStoppedEarly, 200, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecideEnd(Running(), RunStatus::kSucceeded, 50, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("before the start")));
  RunHead job = Running();
  job.job_id = "job-0000000000000001";
  EXPECT_THAT(DecideEnd(job, RunStatus::kSucceeded, 200, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(RunStateMachineTest, CancelOnlyFromOpenStates) {
  auto d = DecideCancel(Running(), 500, "user asked");
  ASSERT_THAT(d, IsOk());
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->status, RunStatus::kCancelled);
  EXPECT_EQ((*d)->failure_reason, "user asked");
  RunHead cancelled = Running();
  cancelled.status = RunStatus::kCancelled;
  auto again = DecideCancel(cancelled, 600, "");
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->has_value());
  RunHead done = Running();
  done.status = RunStatus::kSucceeded;
  EXPECT_THAT(DecideCancel(done, 600, ""), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(PageTokenTest, RunTokenRoundTripsAndIsBoundToItsFilter) {
  RunFilter f;
  f.order_metric = "auc";
  RunCursor c{0, 0.8125, 42, "run-00000000000000aa"};
  std::string token = EncodeRunToken(f, c);
  ASSERT_THAT(DecodeRunToken(f, token), IsOk());
  RunCursor back = *DecodeRunToken(f, token);
  EXPECT_EQ(back.value, 0.8125);
  EXPECT_EQ(back.start_time_micros, 42);
  EXPECT_EQ(back.run_id, c.run_id);
  RunFilter other = f;
  other.ascending = true;
  EXPECT_THAT(DecodeRunToken(other, token), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeRunToken(f, "garbage!"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PageTokenTest, HistoryTokenIsBoundToRunAndKey) {
  std::string token = EncodeHistoryToken("run-0000000000000001", "loss", HistoryCursor{5, 6, 7});
  auto back = DecodeHistoryToken("run-0000000000000001", "loss", token);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->seq, 7);
  EXPECT_THAT(DecodeHistoryToken("run-0000000000000001", "acc", token),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RunQueryTest, ValuesGoToParametersNotIntoSql) {
  RunFilter f;
  f.params = {{"lr", "0.1'; DROP TABLE run; --"}};
  f.metrics = {{"auc", Comparison::kGreater, 0.5}};
  f.tags = {{"team", ""}};
  f.order_metric = "auc";
  RunQuery q = BuildRunListQuery(f, std::nullopt, 0, 11);
  EXPECT_THAT(q.sql, ::testing::Not(HasSubstr("DROP")));
  EXPECT_THAT(q.params, ::testing::Contains("0.1'; DROP TABLE run; --"));
  EXPECT_THAT(q.sql, HasSubstr("ORDER BY o.value DESC, o.run_id DESC"));
  EXPECT_THAT(q.sql, HasSubstr("o.value > $"));  // the order metric's filter is on the scan
  f.metrics.push_back({"loss", Comparison::kLess, 1.0});
  EXPECT_THAT(BuildRunListQuery(f, std::nullopt, 0, 11).sql, HasSubstr("m.value < $"));
  RunQuery phase1 = BuildRunListQuery(f, std::nullopt, 1, 11);
  EXPECT_THAT(phase1.sql, HasSubstr("NOT EXISTS"));
  EXPECT_THAT(phase1.sql, HasSubstr("ORDER BY r.start_time_micros DESC"));
}

TEST(RunQueryTest, SkipsRunsWithoutTheMetricWhenAFilterNeedsIt) {
  RunFilter f;
  f.order_metric = "auc";
  EXPECT_TRUE(NeedsPhaseWithoutMetric(f));
  f.metrics = {{"loss", Comparison::kLess, 1}};
  EXPECT_TRUE(NeedsPhaseWithoutMetric(f));
  f.metrics.push_back({"auc", Comparison::kGreater, 0.5});
  EXPECT_FALSE(NeedsPhaseWithoutMetric(f));
}

TEST(RunQueryTest, DoubleTextRoundTrips) {
  for (double v : {0.1, 1.0 / 3, -2.5e-300, 1e300, 0.0}) {
    EXPECT_EQ(std::stod(DoubleText(v)), v) << DoubleText(v);
  }
}

TEST(Sha256Test, KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(MetricBlocksTest, PacksOneBlockPerKeyInLoggedOrderWithBounds) {
  std::vector<MetricPoint> points = {{"loss", 0.5, 3, 10}, {"acc", -1e300, 0, 7},
                                     {"loss", 0.25, 1, 20}, {"loss", 0.125, 3, 5}};
  std::string packed;
  std::vector<PackedBlock> blocks = PackMetricBlocks(points, &packed);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(packed.size(), 4 * kMetricPointBytes);
  EXPECT_EQ(blocks[0].key, "loss");
  EXPECT_EQ(blocks[0].n, 3);
  EXPECT_EQ(blocks[0].offset, 0u);
  EXPECT_EQ(std::make_pair(blocks[0].min_step, blocks[0].min_ts), std::make_pair(1L, 5L));
  EXPECT_EQ(std::make_pair(blocks[0].max_step, blocks[0].max_ts), std::make_pair(3L, 20L));
  EXPECT_EQ(blocks[1].key, "acc");
  EXPECT_EQ(blocks[1].offset, 3 * kMetricPointBytes);
  // Big endian, as Postgres' int8send writes: step 3 of the first point.
  EXPECT_EQ(packed.substr(0, 8), std::string("\0\0\0\0\0\0\0\x03", 8));
  std::vector<HistoryPoint> out;
  ASSERT_TRUE(UnpackMetricBlock(7, std::string_view(packed).substr(0, 3 * kMetricPointBytes),
                                HistoryPoint{-1, -1, -1, 0}, &out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].step, 3);
  EXPECT_EQ(out[2].timestamp_micros, 5);
  EXPECT_EQ(out[2].value, 0.125);
  EXPECT_EQ(out[2].seq, 7 * kSeqPerBlock + 2);
  // Only points after the cursor (step 3, ts 10, seq of the first point).
  out.clear();
  ASSERT_TRUE(UnpackMetricBlock(7, std::string_view(packed).substr(0, 3 * kMetricPointBytes),
                                HistoryPoint{3, 5, 7 * kSeqPerBlock + 2, 0}, &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp_micros, 10);
  EXPECT_FALSE(UnpackMetricBlock(1, "short", HistoryPoint{-1, -1, -1, 0}, &out));
}

TEST(MetricBlocksTest, SplitsAKeyAboveTheBlockSize) {
  std::vector<MetricPoint> points;
  for (int i = 0; i < kMaxPointsPerBlock + 5; ++i) points.push_back({"k", 1.0 * i, i, 1});
  std::string packed;
  std::vector<PackedBlock> blocks = PackMetricBlocks(points, &packed);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].n, kMaxPointsPerBlock);
  EXPECT_EQ(blocks[1].n, 5);
  EXPECT_EQ(blocks[1].min_step, kMaxPointsPerBlock);
  EXPECT_EQ(blocks[1].offset, kMaxPointsPerBlock * kMetricPointBytes);
}

}  // namespace
}  // namespace mlops::training
