// What `mlopsctl batch` prints about a batch scoring job.
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cli/batch_format.h"

namespace mlops::cli {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
namespace inv1 = ::mlops::inference::v1;

inv1::BatchScoringJob Job(inv1::BatchJobState state) {
  inv1::BatchScoringJob job;
  job.set_job_id("bsj-00000000000000ab");
  job.set_model("fraud");
  job.set_version(3);
  job.set_output_dataset("tx_scores");
  job.set_state(state);
  return job;
}

TEST(BatchFormatTest, OnlySucceededFailedAndCancelledAreTerminal) {
  EXPECT_FALSE(IsBatchJobTerminal(inv1::BATCH_JOB_STATE_QUEUED));
  EXPECT_FALSE(IsBatchJobTerminal(inv1::BATCH_JOB_STATE_RUNNING));
  EXPECT_TRUE(IsBatchJobTerminal(inv1::BATCH_JOB_STATE_SUCCEEDED));
  EXPECT_TRUE(IsBatchJobTerminal(inv1::BATCH_JOB_STATE_FAILED));
  EXPECT_TRUE(IsBatchJobTerminal(inv1::BATCH_JOB_STATE_CANCELLED));
}

TEST(BatchFormatTest, ProgressShowsRowsPercentAndThroughput) {
  inv1::BatchScoringJob job = Job(inv1::BATCH_JOB_STATE_RUNNING);
  job.set_rows_total(10000);
  job.set_rows_scored(4096);
  job.set_rows_per_second(31000);
  EXPECT_EQ(FormatBatchProgress(job), "running: 4096/10000 rows scored (40%), 31000 rows/s");
  job.set_rows_total(0);  // not known yet
  EXPECT_EQ(FormatBatchProgress(job), "running: 4096 rows scored, 31000 rows/s");
  EXPECT_EQ(FormatBatchProgress(Job(inv1::BATCH_JOB_STATE_QUEUED)), "queued");
}

TEST(BatchFormatTest, OutcomeNamesTheOutputVersionOrTheError) {
  inv1::BatchScoringJob done = Job(inv1::BATCH_JOB_STATE_SUCCEEDED);
  done.set_rows_scored(1000);
  done.set_rows_per_second(500);
  done.set_started_at_micros(1'000'000);
  done.set_finished_at_micros(3'000'000);
  done.set_output_dataset_version("abc123");
  EXPECT_EQ(FormatBatchOutcome(done), "succeeded: 1000 rows scored in 2 s (500 rows/s); output tx_scores@abc123");
  inv1::BatchScoringJob failed = Job(inv1::BATCH_JOB_STATE_FAILED);
  failed.set_error("row 17, column \"amount\": NaN not allowed");
  EXPECT_EQ(FormatBatchOutcome(failed), "failed: row 17, column \"amount\": NaN not allowed");
}

TEST(BatchFormatTest, StatusTableHasModelFeatureSourceAndError) {
  inv1::BatchScoringJob job = Job(inv1::BATCH_JOB_STATE_FAILED);
  job.set_feature_source(inv1::BATCH_FEATURE_SOURCE_POINT_IN_TIME);
  job.set_error("no view");
  std::ostringstream out;
  BatchJobTable(job).Print(out);
  EXPECT_THAT(out.str(), ContainsRegex("model +fraud@3"));
  EXPECT_THAT(out.str(), ContainsRegex("features +point_in_time"));
  EXPECT_THAT(out.str(), ContainsRegex("state +failed"));
  EXPECT_THAT(out.str(), ContainsRegex("error +no view"));
}

TEST(BatchFormatTest, DefaultOutputDatasetKeepsTheNameRule) {
  EXPECT_EQ(DefaultOutputDataset("transactions"), "transactions_scores");
  EXPECT_EQ(DefaultOutputDataset(std::string(60, 'a')), "");
}

}  // namespace
}  // namespace mlops::cli
