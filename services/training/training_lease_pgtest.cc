// Job leases: several JobManager replicas on one database. Two runners
// share a batch of jobs and each job runs exactly once (one claim, one trial
// run); a replica that stops renewing (killed) loses its job once the lease
// expires, another replica takes it over, closes the dead replica's trial,
// records the takeover in the job's claim history (WatchJob streams it) and
// fences the dead replica's writes out; a lease taken away from a running
// replica interrupts its execution; a takeover keeps the trials the dead
// replica finished and runs only the rest.
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "services/training/job_spec.h"
#include "services/training/testing/jobs_pgtest_fixture.h"

namespace mlops::training {
namespace {

using ::testing::HasSubstr;
using testing::TrainingJobsPgTest;

class TrainingLeasePgTest : public TrainingJobsPgTest {
 protected:
  // Trial runs per job, from the database.
  std::map<std::string, int> RunsPerJob() {
    std::map<std::string, int> out;
    absl::Status s = pool_->WithTransaction({"runs_per_job"}, [&](pqxx::transaction_base& tx) {
      for (const pqxx::row& r : tx.exec("SELECT job_id, count(*) FROM run WHERE job_id <> '' GROUP BY job_id")) {
        out[r[0].as<std::string>()] = r[1].as<int>();
      }
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  void Sql(const std::string& sql) {
    absl::Status s = pool_->WithTransaction({"sql"}, [&](pqxx::transaction_base& tx) { tx.exec(sql); });
    ASSERT_TRUE(s.ok()) << s;
  }
};

TEST_F(TrainingLeasePgTest, TwoReplicasRunEveryJobExactlyOnce) {
  // replica-a is the fixture's runner; replica-b shares the database.
  JobManager b(Deps(), RunnerOptions("replica-b"));
  ASSERT_THAT(b.Start(), IsOk());
  v1::TrainingJobSpec spec = BinarySpec();
  (*spec.mutable_hyperparameters())["num_boost_round"] = "5";
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    v1::TrainingJob job;
    ASSERT_TRUE(Submit(spec, &job).ok());
    ids.push_back(job.id());
  }
  std::map<std::string, int> by_owner;
  for (const std::string& id : ids) {
    const v1::TrainingJob ended = WaitForEnd(id);
    EXPECT_EQ(ended.state(), v1::JOB_STATE_SUCCEEDED) << ended.failure_reason();
    EXPECT_EQ(ended.trials_size(), 1);
    EXPECT_EQ(ended.trial_counts().succeeded(), 1);
    MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<JobClaimRecord> claims, job_store_->JobClaims(id));
    ASSERT_EQ(claims.size(), 1u) << id;
    EXPECT_EQ(claims[0].note, "first claim");
    ++by_owner[claims[0].owner];
  }
  const std::map<std::string, int> runs = RunsPerJob();
  for (const std::string& id : ids) {
    auto it = runs.find(id);
    ASSERT_NE(it, runs.end()) << id;
    EXPECT_EQ(it->second, 1) << id << " ran more than once";
  }
  for (const auto& [owner, n] : by_owner) std::printf("replica %s ran %d jobs\n", owner.c_str(), n);
  b.Stop();
}

TEST_F(TrainingLeasePgTest, AnExpiredLeaseIsTakenOverAndTheDeadReplicaIsFencedOut) {
  MakeManager();  // not started yet: the submitted job stays QUEUED
  v1::TrainingJob job;
  ASSERT_TRUE(Submit(BinarySpec(), &job).ok());
  // "dead" claims it, starts a trial, then is killed (never renews).
  MLOPS_ASSERT_OK_AND_ASSIGN(std::optional<JobClaim> claim,
                             job_store_->ClaimJob("dead", std::chrono::milliseconds(600)));
  ASSERT_TRUE(claim.has_value());
  EXPECT_EQ(claim->job.id, job.id());
  EXPECT_EQ(claim->attempt, 1);
  StartRunInput in;
  in.name = "dead-trial";
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run stale, tracking_->StartTrialRun(in, "ed", job.id(), 0));
  job.set_state(v1::JOB_STATE_RUNNING);
  v1::TrialSummary* t = job.add_trials();
  t->set_run_id(stale.id);
  t->set_status(v1::RUN_STATUS_RUNNING);
  MLOPS_ASSERT_OK_AND_ASSIGN(LeasedWrite w, job_store_->UpdateLeasedJob(job.id(), "dead", JobState::kRunning,
                                                                       job.SerializeAsString(), {JobState::kQueued}));
  ASSERT_EQ(w, LeasedWrite::kWritten);
  // While the lease holds, nobody else gets the job.
  MLOPS_ASSERT_OK_AND_ASSIGN(std::optional<JobClaim> none,
                             job_store_->ClaimJob("eager", std::chrono::milliseconds(600)));
  EXPECT_FALSE(none.has_value());

  ASSERT_THAT(jobs_->Start(), IsOk());  // replica-a
  const v1::TrainingJob ended = WaitForEnd(job.id());
  ASSERT_EQ(ended.state(), v1::JOB_STATE_SUCCEEDED) << ended.failure_reason();
  ASSERT_EQ(ended.trials_size(), 1);
  EXPECT_NE(ended.trials(0).run_id(), stale.id);
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run old, tracking_->GetRun(stale.id));
  EXPECT_EQ(old.status, RunStatus::kFailed);
  EXPECT_THAT(old.failure_reason, HasSubstr("lease of dead expired"));

  MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<JobClaimRecord> claims, job_store_->JobClaims(job.id()));
  ASSERT_EQ(claims.size(), 2u);
  EXPECT_EQ(claims[0].owner, "dead");
  EXPECT_EQ(claims[1].owner, "replica-a");
  EXPECT_EQ(claims[1].previous_owner, "dead");
  EXPECT_THAT(claims[1].note, HasSubstr("lease of dead expired"));

  // The dead replica's late write is refused.
  MLOPS_ASSERT_OK_AND_ASSIGN(w, job_store_->UpdateLeasedJob(job.id(), "dead", JobState::kFailed,
                                                           job.SerializeAsString(), {JobState::kRunning}));
  EXPECT_EQ(w, LeasedWrite::kLeaseLost);

  // WatchJob streams the history as system lines.
  v1::WatchJobRequest req;
  req.set_job_id(job.id());
  auto ctx = Ctx("viewer-tok");
  auto reader = stub_->WatchJob(ctx.get(), req);
  v1::JobEvent event;
  std::vector<std::string> lines;
  for (int i = 0; i < 100 && reader->Read(&event); ++i) {
    if (event.has_log()) lines.push_back(event.log().stream() + ": " + event.log().text());
  }
  EXPECT_TRUE(reader->Finish().ok());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "system: claim 1 by dead: first claim");
  EXPECT_THAT(lines[1], HasSubstr("system: claim 2 by replica-a: lease of dead expired"));
}

TEST_F(TrainingLeasePgTest, ALeaseTakenAwayInterruptsTheRunningReplicaWithoutAWrite) {
  JobManagerOptions o = RunnerOptions("replica-a");
  o.lease_ttl = std::chrono::milliseconds(400);  // renewed every 100 ms
  MakeManager(o);
  ASSERT_THAT(jobs_->Start(), IsOk());
  // The program notes the SIGTERM it gets when its replica stops it.
  const std::string marker = ::testing::TempDir() + "/lease_lost_marker";
  std::remove(marker.c_str());
  v1::TrainingJobSpec spec = BinarySpec();
  spec.clear_hyperparameters();
  spec.mutable_trainer()->set_kind(v1::TRAINER_KIND_COMMAND);
  for (const std::string& a : {std::string("/bin/sh"), std::string("-c"),
                               "trap 'touch " + marker + "; exit 1' TERM; while true; do sleep 0.1; done"}) {
    spec.mutable_trainer()->mutable_command()->add_argv(a);
  }
  v1::TrainingJob job;
  ASSERT_TRUE(Submit(spec, &job).ok());
  const std::string run_id = TrialRun(job.id());
  ASSERT_FALSE(run_id.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the program is running
  MLOPS_ASSERT_OK_AND_ASSIGN(JobRow before, job_store_->GetJob(job.id()));
  // Another replica took the job over (as after an expiry replica-a missed)
  // and holds it for an hour.
  Sql("UPDATE training_job SET lease_owner = 'thief', lease_expires_at_micros = lease_expires_at_micros + "
      "3600000000 WHERE job_id = '" + job.id() + "'");
  bool stopped = false;
  for (int i = 0; i < 200 && !stopped; ++i) {  // at most 10 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stopped = std::ifstream(marker).good();
  }
  EXPECT_TRUE(stopped) << "replica-a kept running a job whose lease it lost";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Nothing was written by replica-a: the job and its trial run are as the
  // thief found them.
  MLOPS_ASSERT_OK_AND_ASSIGN(JobRow after, job_store_->GetJob(job.id()));
  EXPECT_EQ(after.state, JobState::kRunning);
  EXPECT_EQ(after.payload, before.payload);
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run run, tracking_->GetRun(run_id));
  EXPECT_EQ(run.status, RunStatus::kRunning);
}

TEST_F(TrainingLeasePgTest, ATakeoverKeepsTheTrialsTheDeadReplicaFinishedAndRunsOnlyTheRest) {
  MakeManager();  // not started yet: the submitted job stays QUEUED
  v1::TrainingJobSpec spec = BinarySpec();
  spec.mutable_hyperparameters()->erase("max_depth");
  v1::SearchSpec* search = spec.mutable_search();
  search->set_algorithm(v1::SEARCH_ALGORITHM_GRID);
  search->set_parallelism(1);
  auto* depth = search->add_parameters();
  depth->set_name("max_depth");
  for (const char* d : {"1", "2", "3", "4"}) depth->mutable_categorical()->add_values(d);
  v1::TrainingJob job;
  ASSERT_TRUE(Submit(spec, &job).ok());
  MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<TrialParams> plan, PlanTrials(spec));
  ASSERT_EQ(plan.size(), 4u);
  // "dead" claims the job, finishes trials 0 and 1, and dies during trial 2.
  MLOPS_ASSERT_OK_AND_ASSIGN(std::optional<JobClaim> claim,
                             job_store_->ClaimJob("dead", std::chrono::milliseconds(600)));
  ASSERT_TRUE(claim.has_value());
  job.set_state(v1::JOB_STATE_RUNNING);
  std::vector<std::string> dead_runs;
  for (int i = 0; i < 3; ++i) {
    StartRunInput in;
    in.name = absl::StrCat("dead-", i);
    in.params = plan[static_cast<std::size_t>(i)];
    MLOPS_ASSERT_OK_AND_ASSIGN(training::Run run, tracking_->StartTrialRun(in, "ed", job.id(), i));
    dead_runs.push_back(run.id);
    v1::TrialSummary* t = job.add_trials();
    t->set_index(i);
    t->set_run_id(run.id);
    for (const auto& [k, v] : in.params) (*t->mutable_params())[k] = v;
    if (i == 2) {
      t->set_status(v1::RUN_STATUS_RUNNING);
      continue;
    }
    ASSERT_THAT(tracking_->PutArtifact(run.id, "model/model.json", "application/json", absl::StrCat("{\"trial\":", i, "}"))
                    .status(), IsOk());
    ASSERT_THAT(tracking_->EndTrialRun(run.id, RunStatus::kSucceeded, "").status(), IsOk());
    t->set_status(v1::RUN_STATUS_SUCCEEDED);
    // Trial 0 has the highest AUC there is: ties go to the lower index, so
    // it stays the best whatever the other trials reach.
    t->set_objective_value(i == 0 ? 1.0 : 0.5);
  }
  MLOPS_ASSERT_OK_AND_ASSIGN(LeasedWrite w, job_store_->UpdateLeasedJob(job.id(), "dead", JobState::kRunning,
                                                                       job.SerializeAsString(), {JobState::kQueued}));
  ASSERT_EQ(w, LeasedWrite::kWritten);

  ASSERT_THAT(jobs_->Start(), IsOk());  // replica-a takes over once the lease expires
  const v1::TrainingJob ended = WaitForEnd(job.id());
  ASSERT_EQ(ended.state(), v1::JOB_STATE_SUCCEEDED) << ended.failure_reason();
  ASSERT_EQ(ended.trials_size(), 4);
  EXPECT_EQ(ended.trials(0).run_id(), dead_runs[0]);
  EXPECT_EQ(ended.trials(1).run_id(), dead_runs[1]);
  EXPECT_NE(ended.trials(2).run_id(), dead_runs[2]);
  for (const v1::TrialSummary& t : ended.trials()) EXPECT_EQ(t.status(), v1::RUN_STATUS_SUCCEEDED) << t.index();
  EXPECT_EQ(ended.trial_counts().succeeded(), 4);
  // Only trials 2 and 3 ran on replica-a: the dead replica's 3 runs + 2.
  EXPECT_EQ(RunsPerJob()[job.id()], 5);
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run interrupted, tracking_->GetRun(dead_runs[2]));
  EXPECT_EQ(interrupted.status, RunStatus::kFailed);
  EXPECT_THAT(interrupted.failure_reason, HasSubstr("lease of dead expired"));
  // The best over all four trials, with the artifact the dead replica stored.
  EXPECT_EQ(ended.best_run_id(), dead_runs[0]);
  EXPECT_DOUBLE_EQ(ended.best_objective_value(), 1.0);
  EXPECT_EQ(ended.model_artifact().sha256(), Sha256Hex("{\"trial\":0}"));
  EXPECT_EQ(ended.model_artifact().run_id(), dead_runs[0]);
}

}  // namespace
}  // namespace mlops::training
