#pragma once
// The fixture of training_jobs_pgtest.cc: Postgres (a fresh database), the
// real stores, Tracking, JobManager and TrainingServiceImpl (in-process
// gRPC), and the fake peers on loopback (fake_peers.h). Test-only.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/auth/authorizer.h"
#include "common/auth/token.h"
#include "common/auth/token_store.h"
#include "common/db/migrations.h"
#include "absl/time/clock.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/metric_values.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "mlops_migrations/training_migrations.h"
#include "prometheus/registry.h"
#include "services/training/job_manager.h"
#include "services/training/local_executor.h"
#include "services/training/peer_clients.h"
#include "services/training/pg_job_store.h"
#include "services/training/pg_tracking_store.h"
#include "services/training/testing/fake_peers.h"
#include "services/training/training_service.h"
#include "services/training/trigger_manager.h"

namespace mlops::training::testing {

class TrainingJobsPgTest : public PgTest {
 protected:
  TrainingJobsPgTest()
      : tokens_(*ParseTokenFile(HashToken("viewer-tok") + " val viewer\n" +
                                    HashToken("editor-tok") + " ed editor\n",
                                "test")),
        authorizer_(&tokens_) {}

  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions options;
    options.search_path = "training";
    options.size = 6;
    pool_ = MakePool(options);
    ASSERT_THAT(RunMigrations(*pool_, "training", EmbeddedMigrations()), IsOk());
    store_ = std::make_unique<PgTrackingStore>(pool_.get());
    job_store_ = std::make_unique<PgJobStore>(pool_.get());
    run_logs_ = std::make_unique<PgRunLogStore>(pool_.get());
    tracking_ = std::make_unique<Tracking>(store_.get());
    metrics_ = std::make_unique<TrainingMetrics>(registry_);
    PeerChannelOptions peer;
    peer.address = peers_.address();
    peer.default_deadline = std::chrono::milliseconds(10000);
    MLOPS_ASSERT_OK_AND_ASSIGN(channel_, PeerChannel::Create("fakes", peer));
    data_ = std::make_unique<PeerTrainingData>(channel_.get(), channel_.get());
    registrar_ = std::make_unique<PeerModelRegistrar>(channel_.get());
    command_.executor = &executor_;
    command_.work_root = ::testing::TempDir() + "/training-runs";
    command_.token = "editor-tok";
    MakeManager();
    ASSERT_THAT(jobs_->Start(), IsOk());
  }

  // The options of the runners the tests build (short polls).
  JobManagerOptions RunnerOptions(const std::string& replica_id = "") const {
    JobManagerOptions o;
    o.max_concurrent_jobs = 2;
    o.max_parallel_trials = 2;
    o.retry.initial_backoff = std::chrono::milliseconds(10);
    o.replica_id = replica_id;
    o.claim_poll = std::chrono::milliseconds(100);
    return o;
  }

  JobDeps Deps() {
    return JobDeps{job_store_.get(), tracking_.get(), data_.get(), registrar_.get(), metrics_.get(), &command_,
                   run_logs_.get()};
  }

  // (Re)builds the JobManager (by default replica-a with RunnerOptions),
  // TriggerManager, service and server; the old ones (if any) are gone
  // first. The new JobManager is not started.
  void MakeManager(std::optional<JobManagerOptions> options = std::nullopt) {
    stub_.reset();
    server_.reset();
    triggers_.reset();
    if (jobs_) jobs_->Stop();
    jobs_ = std::make_unique<JobManager>(Deps(), options ? *options : RunnerOptions("replica-a"));
    triggers_ = std::make_unique<TriggerManager>(job_store_.get(), jobs_.get(), tracking_.get());
    TrainingServiceOptions so;
    so.jobs = jobs_.get();
    so.triggers = triggers_.get();
    so.run_logs = run_logs_.get();
    service_ = std::make_unique<TrainingServiceImpl>(tracking_.get(), &authorizer_, metrics_.get(), so);
    auto server = GrpcTestServer::Start({service_.get()});
    ASSERT_TRUE(server.ok());
    server_ = std::move(*server);
    stub_ = v1::TrainingService::NewStub(server_->InProcessChannel());
  }

  void TearDown() override {
    stub_.reset();
    server_.reset();
    triggers_.reset();
    if (jobs_) jobs_->Stop();
    jobs_.reset();
    service_.reset();
    pool_.reset();
    PgTest::TearDown();
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "editor-tok") {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata(kAuthorizationKey, BearerValue(token));
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return ctx;
  }

  static v1::TrainingJobSpec BinarySpec() {
    v1::TrainingJobSpec spec;
    spec.set_name("loans_model");
    spec.mutable_data()->set_dataset("loans");
    spec.mutable_data()->set_label_column("label");
    spec.mutable_trainer()->set_kind(v1::TRAINER_KIND_XGBOOST_GBTREE);
    spec.mutable_trainer()->set_objective(v1::OBJECTIVE_BINARY_LOGISTIC);
    (*spec.mutable_hyperparameters())["max_depth"] = "3";
    (*spec.mutable_hyperparameters())["num_boost_round"] = "20";
    spec.set_seed(7);
    spec.set_code_version("abc123");
    return spec;
  }

  grpc::Status Submit(const v1::TrainingJobSpec& spec, v1::TrainingJob* job, const std::string& key = "") {
    v1::SubmitTrainingJobRequest req;
    *req.mutable_spec() = spec;
    req.set_idempotency_key(key);
    return stub_->SubmitTrainingJob(Ctx().get(), req, job);
  }

  // Polls GetJob until the job ends (at most 60 s).
  v1::TrainingJob WaitForEnd(const std::string& id) {
    v1::TrainingJob job;
    for (int i = 0; i < 1200; ++i) {
      v1::GetJobRequest req;
      req.set_job_id(id);
      grpc::Status s = stub_->GetJob(Ctx("viewer-tok").get(), req, &job);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (job.state() >= v1::JOB_STATE_SUCCEEDED) return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " did not end in 60 s; state " << job.state();
    return job;
  }

  v1::TrainingJob SubmitAndWait(const v1::TrainingJobSpec& spec, const std::string& key = "") {
    v1::TrainingJob job;
    grpc::Status s = Submit(spec, &job, key);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return WaitForEnd(job.id());
  }

  // The run id of the job's single trial once it is set and differs from
  // `other_than` (polled in the store, at most 20 s; "" if not).
  std::string TrialRun(const std::string& job_id, const std::string& other_than = "") {
    for (int i = 0; i < 400; ++i) {
      absl::StatusOr<JobRow> row = job_store_->GetJob(job_id);
      v1::TrainingJob job;
      EXPECT_TRUE(row.ok() && job.ParseFromString(row->payload)) << job_id;
      if (job.trials_size() == 1 && !job.trials(0).run_id().empty() && job.trials(0).run_id() != other_than) {
        return job.trials(0).run_id();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "";
  }

  // mlops_training_jobs{state} once it reaches `want`, or its last value after
  // 5 s: the runner refreshes the gauge just after a job's end is stored, so a
  // test that saw the end may read it a moment before.
  std::optional<double> JobsGauge(const std::string& state, double want) {
    std::optional<double> value;
    for (int i = 0; i < 100; ++i) {
      value = MetricValue(registry_, "mlops_training_jobs", {{"state", state}});
      if (value == want) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return value;
  }

  grpc::StatusCode SubmitCode(const v1::TrainingJobSpec& spec, std::string* message = nullptr) {
    v1::TrainingJob job;
    grpc::Status s = Submit(spec, &job);
    if (message) *message = s.error_message();
    return s.error_code();
  }

  FakePeers peers_;
  TokenStore tokens_;
  Authorizer authorizer_;
  prometheus::Registry registry_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgTrackingStore> store_;
  std::unique_ptr<PgJobStore> job_store_;
  std::unique_ptr<PgRunLogStore> run_logs_;
  std::unique_ptr<Tracking> tracking_;
  std::unique_ptr<TrainingMetrics> metrics_;
  std::unique_ptr<PeerChannel> channel_;
  std::unique_ptr<PeerTrainingData> data_;
  std::unique_ptr<PeerModelRegistrar> registrar_;
  // Command trainers run as local processes (1 s kill grace).
  LocalExecutor executor_{LocalExecutorOptions{std::chrono::milliseconds(1000), 1 << 20}};
  CommandSettings command_;
  std::unique_ptr<JobManager> jobs_;
  std::unique_ptr<TriggerManager> triggers_;
  std::unique_ptr<TrainingServiceImpl> service_;
  std::unique_ptr<GrpcTestServer> server_;
  std::unique_ptr<v1::TrainingService::Stub> stub_;
};

}  // namespace mlops::training::testing
