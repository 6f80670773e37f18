// Pipeline triggers over gRPC (same fixture as training_jobs_pgtest.cc):
// creation checks with exact codes, FireTrigger by model for a monitoring
// alert (the job and its runs record "alert 17"; de-duplicated per alert),
// skips (paused, still running), and the schedule driven by a given time,
// also with two replicas (TriggerManagers) ticking on one database.
#include <set>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "services/training/dataset_follower.h"
#include "services/training/testing/jobs_pgtest_fixture.h"

namespace mlops::training {
namespace {

using ::testing::HasSubstr;
using testing::TrainingJobsPgTest;

class TriggersPgTest : public TrainingJobsPgTest {
 protected:
  v1::PipelineTrigger AlertTrigger(const std::string& name) {
    v1::PipelineTrigger t;
    t.set_name(name);
    t.set_kind(v1::TRIGGER_KIND_MONITORING_ALERT);
    t.set_model_name("loan_default");
    *t.mutable_job() = BinarySpec();
    t.mutable_job()->mutable_register_model()->set_model_name("loan_default");
    return t;
  }
  grpc::Status Create(const v1::PipelineTrigger& t, v1::PipelineTrigger* out = nullptr) {
    v1::CreatePipelineTriggerRequest req;
    *req.mutable_trigger() = t;
    v1::PipelineTrigger ignored;
    return stub_->CreatePipelineTrigger(Ctx().get(), req, out ? out : &ignored);
  }
  v1::FireTriggerResponse FireModel(const std::string& model, const std::string& alert) {
    v1::FireTriggerRequest req;
    req.set_model_name(model);
    req.set_alert_id(alert);
    req.set_reason("drift on amount");
    v1::FireTriggerResponse resp;
    grpc::Status s = stub_->FireTrigger(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
};

TEST_F(TriggersPgTest, CreateRejectsBadTriggersWithExactCodes) {
  v1::PipelineTrigger t = AlertTrigger("retrain");
  t.set_kind(v1::TRIGGER_KIND_UNSPECIFIED);
  EXPECT_EQ(Create(t).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  t = AlertTrigger("retrain");
  t.clear_model_name();
  EXPECT_EQ(Create(t).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  t = AlertTrigger("retrain");
  t.set_kind(v1::TRIGGER_KIND_SCHEDULE);
  t.set_interval_micros(30'000'000);
  EXPECT_EQ(Create(t).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  t = AlertTrigger("Bad-Name");
  EXPECT_EQ(Create(t).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  t = AlertTrigger("retrain");
  t.mutable_job()->mutable_data()->set_dataset("ghost");
  EXPECT_EQ(Create(t).error_code(), grpc::StatusCode::NOT_FOUND);
  t = AlertTrigger("retrain");
  (*t.mutable_job()->mutable_hyperparameters())["nthread"] = "4";
  grpc::Status s = Create(t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("trigger.job: hyperparameters"));
  ASSERT_TRUE(Create(AlertTrigger("retrain")).ok());
  EXPECT_EQ(Create(AlertTrigger("retrain")).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  v1::FireTriggerRequest fire;
  v1::FireTriggerResponse resp;
  EXPECT_EQ(stub_->FireTrigger(Ctx().get(), fire, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  fire.set_trigger_name("nope");
  EXPECT_EQ(stub_->FireTrigger(Ctx().get(), fire, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  fire.set_model_name("other_model");
  EXPECT_EQ(stub_->FireTrigger(Ctx().get(), fire, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  fire.set_alert_id(std::string(300, 'a'));
  EXPECT_EQ(stub_->FireTrigger(Ctx().get(), fire, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TriggersPgTest, AMonitoringAlertStartsOneJobThatRecordsTheAlert) {
  ASSERT_TRUE(Create(AlertTrigger("retrain_on_drift")).ok());
  const v1::FireTriggerResponse first = FireModel("loan_default", "17");
  ASSERT_EQ(first.results_size(), 1);
  EXPECT_EQ(first.results(0).outcome(), v1::FIRE_OUTCOME_STARTED);
  const v1::TrainingJob job = WaitForEnd(first.results(0).job_id());
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  EXPECT_EQ(job.cause().kind(), v1::TRIGGER_KIND_MONITORING_ALERT);
  EXPECT_EQ(job.cause().trigger_name(), "retrain_on_drift");
  EXPECT_EQ(job.cause().alert_id(), "17");
  EXPECT_EQ(job.cause().reason(), "drift on amount");
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run run, tracking_->GetRun(job.best_run_id()));
  EXPECT_EQ(run.tags.at("mlops.cause"), "trigger retrain_on_drift, alert 17");
  bool alert_in_lineage = false;
  for (const auto& ref : job.lineage().inputs()) {
    alert_in_lineage |= ref.kind() == common::v1::RESOURCE_KIND_ALERT && ref.id() == "17";
  }
  EXPECT_TRUE(alert_in_lineage);
  v1::GetRunRequest get_run;
  get_run.set_run_id(job.best_run_id());
  v1::Run run_proto;
  ASSERT_TRUE(stub_->GetRun(Ctx().get(), get_run, &run_proto).ok());
  EXPECT_EQ(run_proto.cause().alert_id(), "17");
  EXPECT_EQ(run_proto.cause().trigger_name(), "retrain_on_drift");
  bool alert_in_run_lineage = false;
  for (const auto& ref : run_proto.lineage().inputs()) {
    alert_in_run_lineage |= ref.kind() == common::v1::RESOURCE_KIND_ALERT && ref.id() == "17";
  }
  EXPECT_TRUE(alert_in_run_lineage);
  const registry::v1::RegisterModelVersionHeader h = peers_.registry.headers().at(0);
  bool alert_in_registry = false;
  for (const auto& ref : h.lineage().other_inputs()) {
    alert_in_registry |= ref.kind() == common::v1::RESOURCE_KIND_ALERT && ref.id() == "17";
  }
  EXPECT_TRUE(alert_in_registry);

  // Monitoring retries the same alert: the same job.
  const v1::FireTriggerResponse again = FireModel("loan_default", "17");
  EXPECT_EQ(again.results(0).outcome(), v1::FIRE_OUTCOME_DEDUPLICATED);
  EXPECT_EQ(again.results(0).job_id(), job.id());

  v1::ListJobsRequest list;
  list.set_trigger_name("retrain_on_drift");
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(stub_->ListJobs(Ctx().get(), list, &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 1);
  v1::ListPipelineTriggersRequest triggers_req;
  triggers_req.set_model_name("loan_default");
  v1::ListPipelineTriggersResponse triggers;
  ASSERT_TRUE(stub_->ListPipelineTriggers(Ctx().get(), triggers_req, &triggers).ok());
  ASSERT_EQ(triggers.triggers_size(), 1);
  EXPECT_EQ(triggers.triggers(0).job_count(), 1);
  EXPECT_EQ(triggers.triggers(0).last_job_id(), job.id());
}

TEST_F(TriggersPgTest, PausedAndStillRunningTriggersSkip) {
  v1::PipelineTrigger paused = AlertTrigger("paused_one");
  paused.set_paused(true);
  ASSERT_TRUE(Create(paused).ok());
  v1::PipelineTrigger slow = AlertTrigger("slow_one");
  (*slow.mutable_job()->mutable_hyperparameters())["num_boost_round"] = "100000";
  (*slow.mutable_job()->mutable_hyperparameters())["eta"] = "0.001";
  ASSERT_TRUE(Create(slow).ok());
  const v1::FireTriggerResponse first = FireModel("loan_default", "1");
  ASSERT_EQ(first.results_size(), 2);  // ordered by name
  EXPECT_EQ(first.results(0).outcome(), v1::FIRE_OUTCOME_SKIPPED_PAUSED);
  EXPECT_EQ(first.results(1).outcome(), v1::FIRE_OUTCOME_STARTED);
  const v1::FireTriggerResponse second = FireModel("loan_default", "2");
  EXPECT_EQ(second.results(1).outcome(), v1::FIRE_OUTCOME_SKIPPED_RUNNING);
  EXPECT_EQ(second.results(1).job_id(), first.results(1).job_id());
  v1::CancelJobRequest cancel;
  cancel.set_job_id(first.results(1).job_id());
  v1::TrainingJob cancelled;
  ASSERT_TRUE(stub_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  WaitForEnd(cancelled.id());
}

TEST_F(TriggersPgTest, ScheduleFiresWhenDueAndNotBefore) {
  v1::PipelineTrigger t = AlertTrigger("nightly");
  t.set_kind(v1::TRIGGER_KIND_SCHEDULE);
  t.clear_model_name();
  t.set_interval_micros(3'600'000'000);
  v1::PipelineTrigger created;
  ASSERT_TRUE(Create(t, &created).ok());
  EXPECT_EQ(created.next_fire_at_micros(), created.created_at_micros() + 3'600'000'000);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto none, triggers_->FireDueSchedules(created.created_at_micros() + 1));
  EXPECT_TRUE(none.empty());
  MLOPS_ASSERT_OK_AND_ASSIGN(auto fired, triggers_->FireDueSchedules(created.next_fire_at_micros() + 5));
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].outcome(), v1::FIRE_OUTCOME_STARTED);
  const v1::TrainingJob job = WaitForEnd(fired[0].job_id());
  EXPECT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(job.cause().kind(), v1::TRIGGER_KIND_SCHEDULE);
  EXPECT_EQ(job.cause().reason(), "schedule");
  EXPECT_EQ(job.principal(), "ed");  // the trigger's creator
  // Not due again until the next interval.
  MLOPS_ASSERT_OK_AND_ASSIGN(auto later, triggers_->FireDueSchedules(created.next_fire_at_micros() + 10));
  EXPECT_TRUE(later.empty());
}

TEST_F(TriggersPgTest, ANewDatasetVersionFiresItsTriggersOncePerVersion) {
  v1::PipelineTrigger t = AlertTrigger("fresh_data");
  t.set_kind(v1::TRIGGER_KIND_NEW_DATASET_VERSION);
  t.clear_model_name();
  ASSERT_TRUE(Create(t).ok());
  DatasetFollower follower(channel_.get(), triggers_.get());
  follower.Start();
  ingestion::v1::DatasetVersion v;
  v.set_dataset("loans");
  v.set_id(testing::kVersionId);
  v.set_sequence(2);
  // The stream may open after a first push: push until one is handled (bounded).
  for (int i = 0; i < 500 && follower.versions_seen() == 0; ++i) {
    if (i % 50 == 0) peers_.ingestion.PushVersion(v);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(follower.versions_seen(), 1);
  peers_.ingestion.PushVersion(v);  // delivered again: de-duplicated
  for (int i = 0; i < 500 && follower.versions_seen() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  follower.Stop();
  v1::ListJobsRequest list;
  list.set_trigger_name("fresh_data");
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(stub_->ListJobs(Ctx().get(), list, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 1);
  const v1::TrainingJob job = WaitForEnd(jobs.jobs(0).id());
  EXPECT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  EXPECT_EQ(job.cause().kind(), v1::TRIGGER_KIND_NEW_DATASET_VERSION);
  EXPECT_EQ(job.cause().dataset_version_id(), testing::kVersionId);
  EXPECT_EQ(job.cause().reason(), "new dataset version");
  EXPECT_EQ(job.spec().data().dataset_version_id(), testing::kVersionId);
  EXPECT_EQ(job.resolved_inputs().dataset_version_id(), testing::kVersionId);
}

TEST_F(TriggersPgTest, TwoReplicasTickingTogetherStartOneJobPerScheduleTick) {
  constexpr int64_t kHour = 3'600'000'000;
  v1::PipelineTrigger t = AlertTrigger("hourly");
  t.set_kind(v1::TRIGGER_KIND_SCHEDULE);
  t.clear_model_name();
  t.set_interval_micros(kHour);
  t.set_allow_concurrent(true);  // each tick may start a job while the last one runs
  v1::PipelineTrigger created;
  ASSERT_TRUE(Create(t, &created).ok());
  // Replica b shares the database; it is not started (replica a runs the jobs).
  JobManager other_jobs(Deps(), RunnerOptions("replica-b"));
  TriggerManager other(job_store_.get(), &other_jobs, tracking_.get());
  std::set<std::string> job_ids;
  for (int tick = 0; tick < 3; ++tick) {
    const int64_t now = created.next_fire_at_micros() + tick * kHour + 5;
    for (int round = 0; round < 2; ++round) {  // the second round: nothing is due any more
      absl::StatusOr<std::vector<v1::FiredTrigger>> a, b;
      std::thread ta([&] { a = triggers_->FireDueSchedules(now); });
      std::thread tb([&] { b = other.FireDueSchedules(now); });
      ta.join();
      tb.join();
      ASSERT_THAT(a, IsOk());
      ASSERT_THAT(b, IsOk());
      ASSERT_EQ(a->size() + b->size(), round == 0 ? 1u : 0u) << "tick " << tick << " round " << round;
      if (round == 1) continue;
      const v1::FiredTrigger& fired = a->empty() ? b->front() : a->front();
      EXPECT_EQ(fired.outcome(), v1::FIRE_OUTCOME_STARTED);
      job_ids.insert(fired.job_id());
    }
  }
  EXPECT_EQ(job_ids.size(), 3u);
  v1::ListJobsRequest list;
  list.set_trigger_name("hourly");
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(stub_->ListJobs(Ctx().get(), list, &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 3);
  MLOPS_ASSERT_OK_AND_ASSIGN(TriggerRow row, job_store_->GetTrigger("hourly"));
  v1::PipelineTrigger stored;
  ASSERT_TRUE(stored.ParseFromString(row.payload));
  EXPECT_EQ(stored.job_count(), 3);
  EXPECT_EQ(stored.next_fire_at_micros(), created.next_fire_at_micros() + 3 * kHour);
  for (const std::string& id : job_ids) EXPECT_EQ(WaitForEnd(id).state(), v1::JOB_STATE_SUCCEEDED);
}

TEST_F(TriggersPgTest, AScheduleTickIsClaimedOnceAndAnUnfinishedClaimCanBeTakenOver) {
  v1::PipelineTrigger t = AlertTrigger("tick_claims");
  t.set_kind(v1::TRIGGER_KIND_SCHEDULE);
  t.clear_model_name();
  t.set_interval_micros(3'600'000'000);
  ASSERT_TRUE(Create(t).ok());
  const std::chrono::milliseconds minute(60000), none(0);
  EXPECT_THAT(job_store_->ClaimTick("tick_claims", 100, "a", minute), IsOkAndHolds(true));
  EXPECT_THAT(job_store_->ClaimTick("tick_claims", 100, "b", minute), IsOkAndHolds(false));
  EXPECT_THAT(job_store_->ClaimTick("tick_claims", 200, "b", minute), IsOkAndHolds(true));
  // a died before finishing tick 100: after the timeout, b takes it over.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_THAT(job_store_->ClaimTick("tick_claims", 100, "b", none), IsOkAndHolds(true));
  ASSERT_THAT(job_store_->FinishTick("tick_claims", 100, "b"), IsOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_THAT(job_store_->ClaimTick("tick_claims", 100, "c", none), IsOkAndHolds(false));  // finished
}

}  // namespace
}  // namespace mlops::training
