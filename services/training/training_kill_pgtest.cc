// Two real mlops-training processes on one database (the fake peers of the
// fixture on loopback): the one running a command job is killed with -9;
// the other claims the job once the lease (2 s) has expired, closes the dead
// replica's trial with the takeover's note and runs the trial again.
#include <signal.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/process.h"
#include "gmock/gmock.h"
#include "services/training/testing/jobs_pgtest_fixture.h"

namespace mlops::training {
namespace {

using ::testing::HasSubstr;
using testing::TrainingJobsPgTest;

class TrainingKillPgTest : public TrainingJobsPgTest {
 protected:
  // Starts mlops-training as `replica` (2 s leases) against this test's DB.
  std::unique_ptr<ChildProcess> StartReplica(const std::string& replica) {
    const std::string dir = ::testing::TempDir();
    const std::string ports = dir + "/ports-" + replica + ".json";
    std::remove(ports.c_str());
    absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(
        MLOPS_TRAINING_BINARY,
        {"--grpc_host=127.0.0.1", "--grpc_port=0", "--metrics_port=0", "--ports_file=" + ports,
         "--database_url=" + dsn(), "--auth_disabled", "--ingestion_addr=" + peers_.address(),
         "--features_addr=" + peers_.address(), "--registry_addr=" + peers_.address(),
         "--replica_id=" + replica, "--job_lease_seconds=2", "--command_work_dir=" + dir + "/runs-" + replica,
         "--shutdown_grace_seconds=2"},
        {}, dir + "/" + replica + ".log");
    EXPECT_TRUE(child.ok()) << child.status();
    if (!child.ok()) return nullptr;
    absl::StatusOr<ServicePorts> up = WaitForPortsFile(ports, absl::Seconds(30), child->get());
    EXPECT_TRUE(up.ok()) << up.status();
    return std::move(*child);
  }

  std::vector<JobClaimRecord> Claims(const std::string& job_id) {
    absl::StatusOr<std::vector<JobClaimRecord>> c = job_store_->JobClaims(job_id);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : std::vector<JobClaimRecord>{};
  }
};

TEST_F(TrainingKillPgTest, AReplicaKilledWithSigkillLosesItsJobToTheOther) {
  MakeManager();  // the in-process runner is not started: only the children run jobs
  std::unique_ptr<ChildProcess> a = StartReplica("kill-a");
  ASSERT_NE(a, nullptr);
  v1::TrainingJobSpec spec = BinarySpec();
  spec.clear_hyperparameters();
  spec.mutable_trainer()->set_kind(v1::TRAINER_KIND_COMMAND);
  spec.mutable_trainer()->mutable_command()->add_argv("sleep");
  spec.mutable_trainer()->mutable_command()->add_argv("20");
  v1::TrainingJob job;
  ASSERT_TRUE(Submit(spec, &job).ok());
  // a claims it and starts the trial.
  const std::string stale_run = TrialRun(job.id());
  ASSERT_FALSE(stale_run.empty()) << a->ReadLog();
  std::unique_ptr<ChildProcess> b = StartReplica("kill-b");
  ASSERT_NE(b, nullptr);
  a->Kill();  // SIGKILL: no drain, no release
  std::vector<JobClaimRecord> claims;
  for (int i = 0; i < 300 && claims.size() < 2; ++i) {  // at most 15 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    claims = Claims(job.id());
  }
  ASSERT_EQ(claims.size(), 2u) << b->ReadLog();
  EXPECT_EQ(claims[0].owner, "kill-a");
  EXPECT_EQ(claims[1].owner, "kill-b");
  EXPECT_EQ(claims[1].previous_owner, "kill-a");
  EXPECT_THAT(claims[1].note, HasSubstr("lease of kill-a expired"));
  // b closed a's trial and runs the trial again in a new run.
  const std::string new_run = TrialRun(job.id(), stale_run);
  ASSERT_FALSE(new_run.empty()) << b->ReadLog();
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run old, tracking_->GetRun(stale_run));
  EXPECT_EQ(old.status, RunStatus::kFailed);
  EXPECT_THAT(old.failure_reason, HasSubstr("resumed by kill-b"));
  // Cancelled here, in the test's process: b's renewal sees it and stops.
  v1::CancelJobRequest cancel;
  cancel.set_job_id(job.id());
  v1::TrainingJob cancelled;
  ASSERT_TRUE(stub_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  const v1::TrainingJob ended = WaitForEnd(job.id());
  EXPECT_EQ(ended.state(), v1::JOB_STATE_CANCELLED);
  bool run_ended = false;
  for (int i = 0; i < 200 && !run_ended; ++i) {  // at most 10 s
    MLOPS_ASSERT_OK_AND_ASSIGN(training::Run run, tracking_->GetRun(new_run));
    run_ended = run.status == RunStatus::kCancelled;
    if (!run_ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(run_ended) << b->ReadLog();
  MLOPS_EXPECT_OK(b->Terminate(absl::Seconds(10)).status());
}

}  // namespace
}  // namespace mlops::training
