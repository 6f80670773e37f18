// Batch scoring against the real ingestion service (in process, over
// loopback gRPC, its own schema in the test's database) and the fake registry
// serving real XGBoost models: a job scores every row exactly as Predict
// does and writes one output version with lineage; a missing input column is
// refused at submission and fails a job naming it; unknown model or dataset
// versions are NOT_FOUND; idempotency keys; restarts resume unfinished jobs
// without a second output version.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "services/gateway/testing/batch_fixture.h"

namespace mlops::gateway::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kRows = 5000;  // two read chunks of the default 4096

// Feature c of input row r (some rows are past the x0 + x1 > 1 boundary).
double Feature(int r, int c) { return ((r * 7 + c * 13) % 101) / 100.0; }

// A QUEUED job of model fraud@1 as an earlier gateway process stored it.
BatchJob EarlierJob(const std::string& job_id, const std::string& input) {
  BatchJob job;
  job.job_id = job_id;
  job.spec.model = "fraud";
  job.spec.version = 1;
  job.spec.input_dataset_version = input;
  job.spec.output_dataset = "fraud_scores";
  job.submitted_at_micros = kT0;
  job.submitted_by = "earlier";
  return job;
}

class BatchScoringPgTest : public BatchPgTest {
 protected:
  // A dataset with customer_id (entity key), ts (event time), f0..f{cols-1}
  // and a note; `rows` rows. With `null_row` >= 0, f0 is nullable and NULL in
  // that row. Returns the version id.
  std::string MakeInput(const std::string& name, int cols, int rows, int null_row = -1) {
    cv1::Schema schema;
    auto add = [&](const std::string& col, cv1::DataType t, cv1::ColumnRole role) {
      cv1::Column* c = schema.add_columns();
      c->set_name(col);
      c->set_type(t);
      c->set_role(role);
      c->set_nullable(null_row >= 0 && col == "f0");
    };
    add("customer_id", cv1::DATA_TYPE_INT64, cv1::COLUMN_ROLE_ENTITY_KEY);
    add("ts", cv1::DATA_TYPE_TIMESTAMP, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
    for (int c = 0; c < cols; ++c) add(absl::StrCat("f", c), cv1::DATA_TYPE_DOUBLE, cv1::COLUMN_ROLE_FEATURE);
    add("note", cv1::DATA_TYPE_STRING, cv1::COLUMN_ROLE_METADATA);
    std::vector<cv1::Row> out;
    for (int r = 0; r < rows; ++r) {
      cv1::Row& row = out.emplace_back();
      row.add_values()->set_int64_value(1000 + r);
      row.add_values()->set_timestamp_micros(kT0 + r);
      for (int c = 0; c < cols; ++c) {
        cv1::Value* v = row.add_values();
        if (c != 0 || r != null_row) v->set_double_value(Feature(r, c));
      }
      row.add_values()->set_string_value("n");
    }
    return MakeDataset(name, schema, out);
  }
};

TEST_F(BatchScoringPgTest, ScoresEveryRowAsPredictDoesIntoOneNewVersion) {
  const std::string input = MakeInput("transactions", kCols, kRows);
  iv1::BatchScoringJob job;
  ASSERT_TRUE(Submit(Job(input), &job).ok());
  EXPECT_THAT(job.job_id(), HasSubstr("bsj-"));
  EXPECT_EQ(job.version(), 1);
  job = AwaitFinished(job.job_id());
  ASSERT_EQ(job.state(), iv1::BATCH_JOB_STATE_SUCCEEDED) << job.error();
  EXPECT_EQ(job.rows_total(), kRows);
  EXPECT_EQ(job.rows_scored(), kRows);
  EXPECT_GT(job.rows_per_second(), 0);
  EXPECT_GE(job.finished_at_micros(), job.started_at_micros());
  ASSERT_EQ(job.output_dataset_version().size(), 64u);

  auto [schema, rows] = ReadAll(job.output_dataset_version());
  std::vector<std::string> names;
  for (const cv1::Column& c : schema.columns()) names.push_back(c.name());
  EXPECT_THAT(names, ::testing::ElementsAre("customer_id", "ts", "prediction", "prediction_label"));
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kRows));
  // Predict's answer for every row, 1,000 rows per call.
  for (int first = 0; first < kRows; first += 1000) {
    iv1::PredictRequest req;
    req.set_endpoint("fraud_ep");
    for (int c = 0; c < kCols; ++c) req.add_feature_names(absl::StrCat("f", c));
    for (int r = first; r < first + 1000; ++r) {
      auto* row = req.add_rows()->mutable_features();
      for (int c = 0; c < kCols; ++c) row->add_values()->set_double_value(Feature(r, c));
    }
    iv1::PredictResponse resp;
    ASSERT_TRUE(Predict(req, &resp).ok());
    for (int r = first; r < first + 1000; ++r) {
      const cv1::Row& out = rows[static_cast<std::size_t>(r)];
      EXPECT_EQ(out.values(0).int64_value(), 1000 + r);
      EXPECT_EQ(out.values(1).timestamp_micros(), kT0 + r);
      EXPECT_DOUBLE_EQ(out.values(2).double_value(), resp.predictions(r - first).score()) << r;
      EXPECT_EQ(out.values(3).string_value(), resp.predictions(r - first).predicted_label()) << r;
    }
  }
  grpc::ClientContext ctx;
  inv1::GetDatasetVersionRequest get;
  get.mutable_version()->set_version_id(job.output_dataset_version());
  inv1::DatasetVersion written;
  ASSERT_TRUE(ingestion_stub_->GetDatasetVersion(&ctx, get, &written).ok());
  EXPECT_THAT(written.source(), HasSubstr("fraud@1"));
  EXPECT_THAT(written.source(), HasSubstr(input));
  bool model_in_lineage = false, input_in_lineage = false;
  for (const cv1::ResourceRef& ref : written.lineage().inputs()) {
    model_in_lineage |= ref.kind() == cv1::RESOURCE_KIND_MODEL_VERSION && ref.id() == "fraud@1";
    input_in_lineage |= ref.kind() == cv1::RESOURCE_KIND_DATASET_VERSION && ref.id() == input;
  }
  EXPECT_TRUE(model_in_lineage);
  EXPECT_TRUE(input_in_lineage);
}

TEST_F(BatchScoringPgTest, MissingInputColumnIsRefusedAtSubmissionNamingIt) {
  const std::string input = MakeInput("partial", kCols - 1, 10);  // no f3
  iv1::BatchScoringJob job;
  grpc::Status s = Submit(Job(input), &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("\"f3\""));
}

TEST_F(BatchScoringPgTest, QueuedJobWhoseInputLacksAColumnFailsNamingIt) {
  // A job queued by an earlier gateway (not checked at submission): the run
  // itself finds the column missing.
  const std::string input = MakeInput("partial", kCols - 1, 10);
  const BatchJob queued = EarlierJob("bsj-00000000000000aa", input);
  ASSERT_THAT(stack_->batch_store->Insert(queued), IsOk());
  Restart();
  iv1::BatchScoringJob job = AwaitFinished(queued.job_id);
  EXPECT_EQ(job.state(), iv1::BATCH_JOB_STATE_FAILED);
  EXPECT_THAT(job.error(), HasSubstr("no column \"f3\""));
  EXPECT_EQ(job.output_dataset_version(), "");
}

TEST_F(BatchScoringPgTest, NullWhereTheSignatureForbidsItFailsTheJobNamingRowAndColumn) {
  const std::string input = MakeInput("with_null", kCols, 5000, /*null_row=*/4500);
  iv1::BatchScoringJob job;
  ASSERT_TRUE(Submit(Job(input), &job).ok());
  job = AwaitFinished(job.job_id());
  EXPECT_EQ(job.state(), iv1::BATCH_JOB_STATE_FAILED);
  EXPECT_THAT(job.error(), HasSubstr("row 4500, feature \"f0\": NULL not allowed"));
  EXPECT_EQ(job.output_dataset_version(), "");
  EXPECT_EQ(OutputVersions(), 0);  // the cancelled write stored nothing
}

TEST_F(BatchScoringPgTest, UnknownModelOrDatasetVersionIsNotFoundAtSubmission) {
  const std::string input = MakeInput("transactions", kCols, 10);
  iv1::BatchScoringJob job;
  EXPECT_EQ(Submit(Job(input, 99), &job).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Submit(Job(std::string(64, 'a')), &job).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Submit(Job("not-a-hash"), &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  iv1::SubmitBatchScoringRequest bad_passthrough = Job(input);
  bad_passthrough.add_passthrough_columns("nope");
  EXPECT_EQ(Submit(bad_passthrough, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext ctx;
  iv1::GetBatchScoringJobRequest get;
  get.set_job_id("bsj-0000000000000000");
  EXPECT_EQ(stack_->stub->GetBatchScoringJob(&ctx, get, &job).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(BatchScoringPgTest, IdempotencyKeyReturnsTheFirstJobOrConflicts) {
  const std::string input = MakeInput("transactions", kCols, 10);
  iv1::SubmitBatchScoringRequest req = Job(input);
  req.set_idempotency_key("nightly-1");
  req.set_version(0);  // the production version, pinned
  iv1::BatchScoringJob first, again;
  ASSERT_TRUE(Submit(req, &first).ok());
  EXPECT_EQ(first.version(), 1);
  ASSERT_TRUE(Submit(req, &again).ok());
  EXPECT_EQ(again.job_id(), first.job_id());
  req.set_output_prefix("other");
  EXPECT_EQ(Submit(req, &again).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(AwaitFinished(first.job_id()).state(), iv1::BATCH_JOB_STATE_SUCCEEDED);
}

TEST_F(BatchScoringPgTest, RestartRunsAnInterruptedJobAgainWithoutASecondVersion) {
  const std::string input = MakeInput("transactions", kCols, 300);
  iv1::BatchScoringJob job;
  ASSERT_TRUE(Submit(Job(input), &job).ok());
  job = AwaitFinished(job.job_id());
  ASSERT_EQ(job.state(), iv1::BATCH_JOB_STATE_SUCCEEDED) << job.error();
  // As if the gateway died after the output was committed but before the
  // job was saved as done.
  MLOPS_ASSERT_OK_AND_ASSIGN(BatchJob stored, stack_->batch_store->Get(job.job_id()));
  stored.state = BatchState::kRunning;
  stored.output_dataset_version.clear();
  ASSERT_THAT(stack_->batch_store->Update(stored), IsOk());
  Restart();
  iv1::BatchScoringJob resumed = AwaitFinished(job.job_id());
  ASSERT_EQ(resumed.state(), iv1::BATCH_JOB_STATE_SUCCEEDED) << resumed.error();
  EXPECT_EQ(resumed.output_dataset_version(), job.output_dataset_version());
  EXPECT_EQ(resumed.rows_scored(), 300);
  EXPECT_EQ(OutputVersions(), 1);
  MLOPS_ASSERT_OK_AND_ASSIGN(stored, stack_->batch_store->Get(job.job_id()));
  EXPECT_EQ(stored.attempts, 2);
}

TEST_F(BatchScoringPgTest, JobInterruptedByTooManyRestartsFailsHonestly) {
  const std::string input = MakeInput("transactions", kCols, 10);
  BatchJob stuck = EarlierJob("bsj-00000000000000bb", input);
  ASSERT_THAT(stack_->batch_store->Insert(stuck), IsOk());
  stuck.state = BatchState::kRunning;
  stuck.attempts = 3;
  ASSERT_THAT(stack_->batch_store->Update(stuck), IsOk());
  Restart();
  iv1::BatchScoringJob job = AwaitFinished(stuck.job_id);
  EXPECT_EQ(job.state(), iv1::BATCH_JOB_STATE_FAILED);
  EXPECT_THAT(job.error(), HasSubstr("gave up after 3 runs"));
}

}  // namespace
}  // namespace mlops::gateway::testing
