// Training jobs end to end over gRPC: the real TrainingServiceImpl and
// JobManager over Postgres, with fake ingestion / features / registry gRPC
// services on loopback. Submits jobs on a small generated dataset and waits
// (bounded) for them; checks metrics, artifacts, the registry call and
// lineage; bad input with exact codes; a failed trial; cancel; restart
// recovery; reproducibility.
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/metric_values.h"
#include "gmock/gmock.h"
#include "services/training/testing/jobs_pgtest_fixture.h"

namespace mlops::training {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;
using testing::kVersionId;
using testing::TrainingJobsPgTest;

TEST_F(TrainingJobsPgTest, JobTrainsRegistersAndRecordsMetricsArtifactAndLineage) {
  v1::TrainingJobSpec spec = BinarySpec();
  spec.mutable_register_model()->set_model_name("loan_default");
  spec.mutable_register_model()->set_owner("risk-team");
  peers_.ingestion.read_unavailable = 2;  // transient: retried with backoff
  peers_.registry.unavailable = 1;
  const v1::TrainingJob job = SubmitAndWait(spec);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  EXPECT_EQ(peers_.ingestion.reads.load(), 3);
  EXPECT_EQ(job.cause().kind(), v1::TRIGGER_KIND_MANUAL);
  EXPECT_EQ(job.principal(), "ed");
  EXPECT_EQ(job.train_rows() + job.validation_rows() + job.test_rows(), testing::kRows);
  EXPECT_EQ(job.test_rows(), 80);
  ASSERT_EQ(job.trials_size(), 1);
  EXPECT_EQ(job.trials(0).status(), v1::RUN_STATUS_SUCCEEDED);
  EXPECT_EQ(job.trial_counts().succeeded(), 1);
  EXPECT_EQ(job.best_run_id(), job.trials(0).run_id());
  EXPECT_GT(job.best_test_metrics().at("test_auc"), 0.9);
  for (const char* k : {"test_logloss", "test_accuracy", "test_precision", "test_recall", "test_f1"}) {
    EXPECT_EQ(job.best_test_metrics().count(k), 1u) << k;
  }
  // Pinned inputs: "latest" resolved; the dataset's FEATURE columns in schema order.
  const v1::RunInputs& in = job.resolved_inputs();
  EXPECT_EQ(in.dataset_version_id(), kVersionId);
  EXPECT_THAT(std::vector<std::string>(in.dataset_feature_columns().begin(), in.dataset_feature_columns().end()),
              ::testing::ElementsAre("x0", "x1", "x2"));
  EXPECT_EQ(in.trainer(), "xgboost_gbtree");
  EXPECT_THAT(in.trainer_version(), HasSubstr("xgboost 1."));
  EXPECT_EQ(job.signature().inputs_size(), 3);
  EXPECT_EQ(job.signature().inputs(2).type(), common::v1::DATA_TYPE_INT64);

  // The trial run: params, seed, pinned inputs, metrics per round, the model artifact.
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run run, tracking_->GetRun(job.best_run_id()));
  EXPECT_EQ(run.job_id, job.id());
  EXPECT_EQ(run.status, RunStatus::kSucceeded);
  EXPECT_EQ(run.params.at("max_depth"), "3");
  EXPECT_EQ(run.inputs.seed, 7);
  EXPECT_EQ(run.inputs.dataset_version_id, kVersionId);
  EXPECT_EQ(run.inputs.code_version, "abc123");
  EXPECT_EQ(run.tags.at("mlops.cause"), "manual");
  MLOPS_ASSERT_OK_AND_ASSIGN(MetricHistoryPage curve, tracking_->GetMetricHistory(run.id, "validation_auc", "", 1000));
  EXPECT_EQ(curve.points.size(), 21u);  // 20 rounds + the final evaluation
  ASSERT_EQ(run.artifacts.size(), 1u);
  EXPECT_EQ(run.artifacts[0].path, "model/model.json");
  EXPECT_EQ(job.model_artifact().sha256(), run.artifacts[0].sha256);

  // The registry got the artifact, signature, lineage and test evaluation.
  ASSERT_EQ(peers_.registry.headers().size(), 1u);
  const registry::v1::RegisterModelVersionHeader h = peers_.registry.headers()[0];
  EXPECT_EQ(h.model(), "loan_default");
  EXPECT_EQ(h.flavor(), registry::v1::FLAVOR_XGBOOST);
  EXPECT_EQ(h.expected_artifact().sha256(), job.model_artifact().sha256());
  EXPECT_EQ(h.lineage().run_id(), job.best_run_id());
  EXPECT_EQ(h.lineage().training_dataset_version(), kVersionId);
  EXPECT_EQ(h.lineage().code_version(), "abc123");
  EXPECT_EQ(h.lineage().random_seed(), 7);
  EXPECT_EQ(h.signature().inputs_size(), 3);
  EXPECT_EQ(h.signature().output().kind(), registry::v1::OUTPUT_KIND_BINARY_PROBABILITY);
  ASSERT_EQ(h.evaluations_size(), 1);
  EXPECT_EQ(h.evaluations(0).dataset_version(), kVersionId);
  EXPECT_DOUBLE_EQ(h.evaluations(0).metrics().at("auc"), job.best_test_metrics().at("test_auc"));
  EXPECT_EQ(h.docs().owner(), "risk-team");
  EXPECT_EQ(job.registration().version(), 1);
  EXPECT_EQ(job.registration().error(), "");
  EXPECT_EQ(job.lineage().inputs(0).id(), kVersionId);

  EXPECT_THAT(JobsGauge("succeeded", 1), Optional(1.0));
  EXPECT_THAT(MetricValue(registry_, "mlops_training_trial_duration_seconds", {{"outcome", "succeeded"}}),
              Optional(1.0));
  EXPECT_THAT(MetricValue(registry_, "mlops_training_job_queue_depth"), Optional(0.0));
}

TEST_F(TrainingJobsPgTest, RegisteredModelAsksForTheStageThroughTheGate) {
  v1::TrainingJobSpec spec = BinarySpec();
  spec.mutable_register_model()->set_model_name("loan_default");
  spec.mutable_register_model()->set_transition_to_stage("production");
  v1::TrainingJob job = SubmitAndWait(spec);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  EXPECT_TRUE(job.registration().transition_granted());
  EXPECT_THAT(job.registration().transition_detail(),
              HasSubstr("TRANSITION_STATUS_GRANTED: threshold auc >= 0.5: 0.9"));
  const auto asked = peers_.registry.transitions();
  ASSERT_EQ(asked.size(), 2u);  // through staging
  EXPECT_EQ(asked[0].target_stage(), registry::v1::STAGE_STAGING);
  EXPECT_EQ(asked[1].target_stage(), registry::v1::STAGE_PRODUCTION);
  EXPECT_EQ(asked[1].version().version(), job.registration().version());
  EXPECT_THAT(asked[1].reason(), HasSubstr(job.id()));
  // No production version yet: no champion to evaluate.
  EXPECT_TRUE(peers_.registry.evaluations().empty());

  // The gate says no: the job still succeeds, and says why.
  peers_.registry.deny_production = true;
  const int64_t champion = job.registration().version();
  job = SubmitAndWait(spec);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  EXPECT_FALSE(job.registration().transition_granted());
  EXPECT_THAT(job.registration().transition_detail(), HasSubstr("threshold auc >= 0.99"));

  // Before asking, the second job evaluated the champion (version 1, in
  // production) on its own test split: same evaluation name, dataset
  // version and metric names as the candidate's. Same data, same seed, same
  // params: the champion's metrics equal the candidate's exactly.
  EXPECT_THAT(peers_.registry.artifact_reads(), ::testing::ElementsAre(champion));
  const auto evals = peers_.registry.evaluations();
  ASSERT_EQ(evals.size(), 1u);
  EXPECT_EQ(evals[0].version().model(), "loan_default");
  EXPECT_EQ(evals[0].version().version(), champion);
  const registry::v1::RegisterModelVersionHeader candidate = peers_.registry.headers().back();
  ASSERT_EQ(candidate.evaluations_size(), 1);
  const registry::v1::Evaluation& mine = candidate.evaluations(0);
  EXPECT_EQ(evals[0].evaluation().name(), mine.name());
  EXPECT_EQ(evals[0].evaluation().dataset_version(), kVersionId);
  EXPECT_EQ(evals[0].evaluation().row_count(), job.test_rows());
  ASSERT_EQ(evals[0].evaluation().metrics_size(), mine.metrics_size());
  for (const auto& [k, v] : mine.metrics()) {
    ASSERT_EQ(evals[0].evaluation().metrics().count(k), 1u) << k;
    EXPECT_NEAR(evals[0].evaluation().metrics().at(k), v, 1e-9) << k;
  }
  // The champion's evaluation was added before the stage was asked for.
  EXPECT_EQ(peers_.registry.transitions().size(), 4u);

  // A re-run on the same data: ALREADY_EXISTS is fine, the job goes on.
  job = SubmitAndWait(spec);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  EXPECT_EQ(peers_.registry.evaluations().size(), 1u);
  EXPECT_EQ(peers_.registry.artifact_reads().size(), 2u);
}

TEST_F(TrainingJobsPgTest, FeatureRefsGoThroughHistoricalRetrievalAndArePinned) {
  v1::TrainingJobSpec spec = BinarySpec();
  spec.mutable_data()->add_dataset_feature_columns("x0");
  spec.mutable_data()->add_feature_refs("cust:avg_amount");
  spec.mutable_data()->set_dataset_version_id(kVersionId);
  spec.mutable_register_model()->set_model_name("loan_default");
  const v1::TrainingJob job = SubmitAndWait(spec);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  ASSERT_EQ(peers_.features.requests().size(), 1u);
  const features::v1::GetHistoricalFeaturesRequest req = peers_.features.requests()[0];
  EXPECT_EQ(req.dataset().dataset(), "loans");
  EXPECT_EQ(req.dataset().version_id(), kVersionId);
  EXPECT_THAT(std::vector<std::string>(req.dataset().columns().begin(), req.dataset().columns().end()),
              ::testing::ElementsAre("id", "ts", "label", "x0"));
  EXPECT_EQ(req.feature_refs(0), "cust:avg_amount");
  EXPECT_EQ(peers_.ingestion.reads.load(), 0);  // rows come only through the feature service
  EXPECT_EQ(job.resolved_inputs().feature_view_versions(0), "cust@2");
  EXPECT_EQ(job.resolved_inputs().feature_refs(0), "cust@2:avg_amount");
  EXPECT_EQ(job.resolved_inputs().source_dataset_versions().at("cust"), testing::kSourceVersionId);
  ASSERT_EQ(job.signature().inputs_size(), 2);
  EXPECT_EQ(job.signature().inputs(1).feature_ref(), "cust@2:avg_amount");
  EXPECT_EQ(job.signature().entity_key_column(), "id");
  const registry::v1::RegisterModelVersionHeader h = peers_.registry.headers().at(0);
  ASSERT_EQ(h.lineage().feature_views_size(), 1);
  EXPECT_EQ(h.lineage().feature_views(0).name(), "cust");
  EXPECT_EQ(h.lineage().feature_views(0).version(), 2);
  EXPECT_EQ(h.signature().entity_key().name(), "id");
  EXPECT_EQ(h.signature().entity_key().type(), common::v1::DATA_TYPE_INT64);
}

TEST_F(TrainingJobsPgTest, BadInputGetsExactCodes) {
  std::string msg;
  v1::TrainingJobSpec spec = BinarySpec();
  spec.mutable_data()->set_dataset("nope");
  EXPECT_EQ(SubmitCode(spec), grpc::StatusCode::NOT_FOUND);
  spec = BinarySpec();
  spec.mutable_data()->add_feature_refs("ghost:f");
  EXPECT_EQ(SubmitCode(spec), grpc::StatusCode::NOT_FOUND);
  spec = BinarySpec();
  spec.mutable_data()->add_feature_refs("cust:missing");
  EXPECT_EQ(SubmitCode(spec), grpc::StatusCode::NOT_FOUND);
  spec = BinarySpec();
  spec.mutable_data()->set_dataset_version_id(std::string(64, 'b'));
  EXPECT_EQ(SubmitCode(spec), grpc::StatusCode::NOT_FOUND);
  spec = BinarySpec();
  spec.set_experiment("no_such_experiment");
  EXPECT_EQ(SubmitCode(spec), grpc::StatusCode::NOT_FOUND);
  spec = BinarySpec();
  spec.mutable_data()->set_label_column("missing");
  EXPECT_EQ(SubmitCode(spec, &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("data.label_column"));
  spec = BinarySpec();
  spec.mutable_data()->set_label_column("amount");  // DOUBLE for a binary objective
  EXPECT_EQ(SubmitCode(spec, &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("BOOL or INT64"));
  spec = BinarySpec();
  (*spec.mutable_hyperparameters())["seed"] = "1";
  EXPECT_EQ(SubmitCode(spec, &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("reserved"));
  spec = BinarySpec();
  spec.mutable_data()->add_dataset_feature_columns("note");
  EXPECT_EQ(SubmitCode(spec, &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("data.dataset_feature_columns[0]"));
  spec = BinarySpec();
  spec.mutable_data()->add_feature_refs("cust:segment");
  EXPECT_EQ(SubmitCode(spec, &msg), grpc::StatusCode::INVALID_ARGUMENT);
  spec = BinarySpec();
  spec.mutable_trainer()->set_kind(v1::TRAINER_KIND_UNSPECIFIED);
  EXPECT_EQ(SubmitCode(spec, &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("trainer.kind"));
  spec = BinarySpec();
  spec.mutable_split()->set_test_fraction(0.95);
  EXPECT_EQ(SubmitCode(spec, &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("split.test_fraction"));
  spec = BinarySpec();
  spec.mutable_search()->set_algorithm(v1::SEARCH_ALGORITHM_GRID);
  auto* p = spec.mutable_search()->add_parameters();
  p->set_name("eta");
  p->mutable_float_range()->set_min(1);
  p->mutable_float_range()->set_max(0.1);
  EXPECT_EQ(SubmitCode(spec, &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("search.parameters[0]"));
  spec = BinarySpec();
  spec.mutable_register_model()->set_model_name("Bad Name");
  EXPECT_EQ(SubmitCode(spec, &msg), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(msg, HasSubstr("register_model.model_name"));

  v1::TrainingJob job;
  v1::GetJobRequest get;
  get.set_job_id("job-zz");
  EXPECT_EQ(stub_->GetJob(Ctx().get(), get, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  get.set_job_id("job-0123456789abcdef");
  EXPECT_EQ(stub_->GetJob(Ctx().get(), get, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Submit(BinarySpec(), &job, "").error_code(), grpc::StatusCode::OK);
  v1::SubmitTrainingJobRequest viewer;
  *viewer.mutable_spec() = BinarySpec();
  EXPECT_EQ(stub_->SubmitTrainingJob(Ctx("viewer-tok").get(), viewer, &job).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(TrainingJobsPgTest, IdempotencyKeyReturnsTheFirstJobAndListJobsPages) {
  v1::TrainingJob first, again, other;
  ASSERT_TRUE(Submit(BinarySpec(), &first, "retrain-1").ok());
  ASSERT_TRUE(Submit(BinarySpec(), &again, "retrain-1").ok());
  EXPECT_EQ(first.id(), again.id());
  v1::TrainingJobSpec changed = BinarySpec();
  changed.set_seed(8);
  EXPECT_EQ(Submit(changed, &other, "retrain-1").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  WaitForEnd(first.id());

  // ListJobs: newest first, paged, filtered by state and experiment.
  ASSERT_TRUE(Submit(changed, &other, "retrain-2").ok());
  WaitForEnd(other.id());
  v1::ListJobsRequest list;
  list.mutable_page()->set_page_size(1);
  v1::ListJobsResponse page1, page2;
  ASSERT_TRUE(stub_->ListJobs(Ctx().get(), list, &page1).ok());
  ASSERT_EQ(page1.jobs_size(), 1);
  EXPECT_EQ(page1.jobs(0).id(), other.id());
  ASSERT_FALSE(page1.next_page_token().empty());
  list.mutable_page()->set_page_token(page1.next_page_token());
  ASSERT_TRUE(stub_->ListJobs(Ctx().get(), list, &page2).ok());
  ASSERT_EQ(page2.jobs_size(), 1);
  EXPECT_EQ(page2.jobs(0).id(), first.id());
  EXPECT_TRUE(page2.next_page_token().empty());
  v1::ListJobsRequest running;
  running.add_states(v1::JOB_STATE_RUNNING);
  v1::ListJobsResponse none;
  ASSERT_TRUE(stub_->ListJobs(Ctx().get(), running, &none).ok());
  EXPECT_EQ(none.jobs_size(), 0);
  v1::ListJobsRequest unknown;
  unknown.set_experiment("no_such_experiment");
  EXPECT_EQ(stub_->ListJobs(Ctx().get(), unknown, &none).error_code(), grpc::StatusCode::NOT_FOUND);
  unknown.set_experiment("");
  unknown.mutable_page()->set_page_token("garbage!");
  EXPECT_EQ(stub_->ListJobs(Ctx().get(), unknown, &none).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TrainingJobsPgTest, AHyperparameterXgboostRejectsFailsTheTrialWithItsMessage) {
  v1::TrainingJobSpec spec = BinarySpec();
  (*spec.mutable_hyperparameters())["max_depth"] = "-3";
  const v1::TrainingJob job = SubmitAndWait(spec);
  EXPECT_EQ(job.state(), v1::JOB_STATE_FAILED);
  ASSERT_EQ(job.trials_size(), 1);
  EXPECT_EQ(job.trials(0).status(), v1::RUN_STATUS_FAILED);
  EXPECT_THAT(job.trials(0).failure_reason(), HasSubstr("max_depth"));
  EXPECT_THAT(job.failure_reason(), HasSubstr("no trial succeeded"));
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run run, tracking_->GetRun(job.trials(0).run_id()));
  EXPECT_EQ(run.status, RunStatus::kFailed);
  EXPECT_THAT(run.failure_reason, HasSubstr("xgboost: "));
  EXPECT_THAT(JobsGauge("failed", 1), Optional(1.0));
}

TEST_F(TrainingJobsPgTest, GridSearchRunsEveryTrialAndKeepsTheBest) {
  v1::TrainingJobSpec spec = BinarySpec();
  spec.mutable_hyperparameters()->erase("max_depth");
  v1::SearchSpec* search = spec.mutable_search();
  search->set_algorithm(v1::SEARCH_ALGORITHM_GRID);
  search->set_parallelism(2);
  auto* depth = search->add_parameters();
  depth->set_name("max_depth");
  depth->mutable_int_range()->set_min(1);
  depth->mutable_int_range()->set_max(3);
  depth->mutable_int_range()->set_step(2);
  auto* eta = search->add_parameters();
  eta->set_name("eta");
  eta->mutable_categorical()->add_values("0.1");
  eta->mutable_categorical()->add_values("0.5");
  search->set_max_failed_trials(0);
  const v1::TrainingJob job = SubmitAndWait(spec);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  ASSERT_EQ(job.trials_size(), 4);
  double best = 0;
  for (const v1::TrialSummary& t : job.trials()) {
    EXPECT_EQ(t.status(), v1::RUN_STATUS_SUCCEEDED);
    best = std::max(best, t.objective_value());
  }
  EXPECT_EQ(job.trials(1).params().at("max_depth"), "1");
  EXPECT_EQ(job.trials(1).params().at("eta"), "0.5");
  EXPECT_DOUBLE_EQ(job.best_objective_value(), best);
}

TEST_F(TrainingJobsPgTest, MedianStoppingStopsATrialWorseThanTheCompletedOnes) {
  v1::TrainingJobSpec spec = BinarySpec();
  spec.mutable_hyperparameters()->erase("max_depth");
  v1::SearchSpec* search = spec.mutable_search();
  search->set_algorithm(v1::SEARCH_ALGORITHM_GRID);
  search->set_parallelism(1);  // trial 0 completes before trial 1 starts
  auto* depth = search->add_parameters();
  depth->set_name("max_depth");
  depth->mutable_categorical()->add_values("6");
  depth->mutable_categorical()->add_values("1");  // stumps: a worse AUC curve
  search->mutable_median_stopping()->set_enabled(true);
  search->mutable_median_stopping()->set_min_completed_trials(1);
  search->mutable_median_stopping()->set_min_step(2);
  const v1::TrainingJob job = SubmitAndWait(spec);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  ASSERT_EQ(job.trials_size(), 2);
  EXPECT_EQ(job.trials(0).status(), v1::RUN_STATUS_SUCCEEDED);
  EXPECT_EQ(job.trials(1).status(), v1::RUN_STATUS_STOPPED_EARLY);
  EXPECT_THAT(job.trials(1).failure_reason(), HasSubstr("median stopping rule at round 2"));
  EXPECT_EQ(job.trial_counts().stopped_early(), 1);
  EXPECT_EQ(job.best_run_id(), job.trials(0).run_id());
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run stopped, tracking_->GetRun(job.trials(1).run_id()));
  EXPECT_EQ(stopped.status, RunStatus::kStoppedEarly);
  MLOPS_ASSERT_OK_AND_ASSIGN(MetricHistoryPage curve,
                             tracking_->GetMetricHistory(stopped.id, "validation_auc", "", 1000));
  EXPECT_EQ(curve.points.size(), 3u);  // rounds 0..2 kept
}

TEST_F(TrainingJobsPgTest, CancelStopsTheRunningTrialAndIsANoOpTwice) {
  v1::TrainingJobSpec spec = BinarySpec();
  (*spec.mutable_hyperparameters())["num_boost_round"] = "100000";
  (*spec.mutable_hyperparameters())["eta"] = "0.001";
  v1::TrainingJob job;
  ASSERT_TRUE(Submit(spec, &job).ok());
  // Wait (bounded) for the trial to be running.
  for (int i = 0; i < 400 && (job.trials_size() == 0 || job.trials(0).status() != v1::RUN_STATUS_RUNNING); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    v1::GetJobRequest get;
    get.set_job_id(job.id());
    ASSERT_TRUE(stub_->GetJob(Ctx().get(), get, &job).ok());
  }
  ASSERT_EQ(job.trials_size(), 1);
  v1::CancelJobRequest cancel;
  cancel.set_job_id(job.id());
  cancel.set_reason("wrong data");
  v1::TrainingJob cancelled;
  ASSERT_TRUE(stub_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.state(), v1::JOB_STATE_CANCELLED);
  const v1::TrainingJob ended = WaitForEnd(job.id());
  EXPECT_EQ(ended.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(ended.failure_reason(), "wrong data");
  // The trial stops soon after (bounded wait for the runner's last write).
  v1::TrainingJob after = ended;
  for (int i = 0; i < 400 && after.trials(0).status() == v1::RUN_STATUS_RUNNING; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    after = WaitForEnd(job.id());
  }
  EXPECT_EQ(after.trials(0).status(), v1::RUN_STATUS_CANCELLED);
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run run, tracking_->GetRun(after.trials(0).run_id()));
  EXPECT_EQ(run.status, RunStatus::kCancelled);
  EXPECT_TRUE(stub_->CancelJob(Ctx().get(), cancel, &cancelled).ok());  // no-op
  EXPECT_TRUE(peers_.registry.headers().empty());

  const v1::TrainingJob done = SubmitAndWait(BinarySpec());
  cancel.set_job_id(done.id());
  EXPECT_EQ(stub_->CancelJob(Ctx().get(), cancel, &cancelled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(TrainingJobsPgTest, SameInputsGiveAByteIdenticalArtifact) {
  const v1::TrainingJob a = SubmitAndWait(BinarySpec());
  const v1::TrainingJob b = SubmitAndWait(BinarySpec());
  ASSERT_EQ(a.state(), v1::JOB_STATE_SUCCEEDED);
  ASSERT_EQ(b.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_NE(a.best_run_id(), b.best_run_id());
  EXPECT_EQ(a.model_artifact().sha256(), b.model_artifact().sha256());
  v1::TrainingJobSpec other = BinarySpec();
  other.set_seed(8);  // another split
  const v1::TrainingJob c = SubmitAndWait(other);
  EXPECT_NE(a.model_artifact().sha256(), c.model_artifact().sha256());
}

TEST_F(TrainingJobsPgTest, JobsLeftRunningByACrashAreResumedOnceOnRestart) {
  MakeManager();  // a new one, not started: submitted jobs stay QUEUED
  v1::TrainingJob job;
  ASSERT_TRUE(Submit(BinarySpec(), &job).ok());
  // Simulate a crash mid-run: the job RUNNING with a trial whose run is RUNNING.
  StartRunInput in;
  in.name = "stale";
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run stale, tracking_->StartTrialRun(in, "ed", job.id(), 0));
  job.set_state(v1::JOB_STATE_RUNNING);
  v1::TrialSummary* t = job.add_trials();
  t->set_run_id(stale.id);
  t->set_status(v1::RUN_STATUS_RUNNING);
  ASSERT_THAT(job_store_->UpdateJob(job.id(), JobState::kRunning, job.SerializeAsString(), {JobState::kQueued}),
              IsOk());
  ASSERT_THAT(jobs_->Start(), IsOk());
  const v1::TrainingJob ended = WaitForEnd(job.id());
  ASSERT_EQ(ended.state(), v1::JOB_STATE_SUCCEEDED) << ended.failure_reason();
  ASSERT_EQ(ended.trials_size(), 1);
  EXPECT_NE(ended.trials(0).run_id(), stale.id);
  EXPECT_EQ(ended.trial_counts().succeeded(), 1);
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run old, tracking_->GetRun(stale.id));
  EXPECT_EQ(old.status, RunStatus::kFailed);
  EXPECT_THAT(old.failure_reason, HasSubstr("restart"));
}

TEST_F(TrainingJobsPgTest, WatchJobStreamsSnapshotsAndTrialsUntilTheEnd) {
  v1::TrainingJob job;
  ASSERT_TRUE(Submit(BinarySpec(), &job).ok());
  v1::WatchJobRequest req;
  req.set_job_id(job.id());
  auto ctx = Ctx("viewer-tok");
  auto reader = stub_->WatchJob(ctx.get(), req);
  v1::JobEvent event;
  std::vector<v1::JobEvent> events;
  while (events.size() < 1000 && reader->Read(&event)) events.push_back(event);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_GE(events.size(), 2u);
  EXPECT_TRUE(events.front().has_snapshot());
  ASSERT_TRUE(events.back().has_snapshot());
  EXPECT_EQ(events.back().snapshot().state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const v1::JobEvent& e) {
    return e.has_trial() && e.trial().status() == v1::RUN_STATUS_SUCCEEDED;
  }));

  v1::WatchRunRequest run_req;
  run_req.set_run_id(events.back().snapshot().best_run_id());
  run_req.set_include_metric_history(true);
  auto run_ctx = Ctx("viewer-tok");
  auto run_reader = stub_->WatchRun(run_ctx.get(), run_req);
  v1::RunEvent run_event;
  int points = 0, snapshots = 0;
  while (run_reader->Read(&run_event)) {
    snapshots += run_event.has_snapshot();
    points += run_event.metrics().points_size();
  }
  EXPECT_TRUE(run_reader->Finish().ok());
  EXPECT_EQ(snapshots, 1);  // the run had ended: one snapshot, its history, then OK
  EXPECT_GT(points, 20);
}

}  // namespace
}  // namespace mlops::training
