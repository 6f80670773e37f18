// Command trainer jobs end to end: the real service and JobManager over
// Postgres, fake peers, and real programs run by the LocalExecutor. The
// example trainer (testing/command_trainer_example.cc) reads the CSV files
// and logs metrics back through the tracking RPCs on a loopback port; its
// XGBoost model is evaluated and registered like a built-in's. Programs that
// exit 3, hang past their timeout or write no model fail the job with the
// reason recorded; an opaque model is scored by the metric the program
// logged and cannot be registered.
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "services/training/testing/jobs_pgtest_fixture.h"

namespace mlops::training {
namespace {

using ::testing::HasSubstr;
using testing::TrainingJobsPgTest;

class TrainingCommandPgTest : public TrainingJobsPgTest {
 protected:
  void SetUp() override {
    TrainingJobsPgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // The tracking RPCs on a loopback port, for the programs.
    tcp_service_ = std::make_unique<TrainingServiceImpl>(tracking_.get(), &authorizer_, metrics_.get(),
                                                         TrainingServiceOptions{});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(tcp_service_.get());
    tcp_server_ = builder.BuildAndStart();
    ASSERT_TRUE(tcp_server_ != nullptr && port > 0);
    command_.training_addr = "127.0.0.1:" + std::to_string(port);
  }

  void TearDown() override {
    if (tcp_server_) tcp_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    TrainingJobsPgTest::TearDown();
  }

  static v1::TrainingJobSpec CommandSpec(std::vector<std::string> argv, int64_t timeout_micros = 60'000'000) {
    v1::TrainingJobSpec spec = BinarySpec();
    spec.clear_hyperparameters();
    spec.mutable_trainer()->set_kind(v1::TRAINER_KIND_COMMAND);
    v1::CommandTrainer* c = spec.mutable_trainer()->mutable_command();
    for (const std::string& a : argv) c->add_argv(a);
    c->set_timeout_micros(timeout_micros);
    return spec;
  }

  std::map<std::string, ArtifactRef> Artifacts(const std::string& run_id) {
    std::map<std::string, ArtifactRef> out;
    absl::StatusOr<training::Run> run = tracking_->GetRun(run_id);
    EXPECT_TRUE(run.ok()) << run.status();
    if (run.ok()) {
      for (const ArtifactRef& a : run->artifacts) out[a.path] = a;
    }
    return out;
  }

  std::string Download(const ArtifactRef& ref) {
    absl::StatusOr<std::string> chunk = tracking_->ReadChunk(ref.sha256, 0);
    EXPECT_TRUE(chunk.ok()) << chunk.status();
    return chunk.ok() ? *chunk : "";
  }

  std::unique_ptr<TrainingServiceImpl> tcp_service_;
  std::unique_ptr<grpc::Server> tcp_server_;
};

TEST_F(TrainingCommandPgTest, ProgramTrainsLogsThroughTrackingAndItsXgboostModelIsEvaluatedAndRegistered) {
  v1::TrainingJobSpec spec = CommandSpec({MLOPS_COMMAND_TRAINER_EXAMPLE});
  spec.mutable_register_model()->set_model_name("loan_default");
  const v1::TrainingJob job = SubmitAndWait(spec);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  ASSERT_EQ(job.trials_size(), 1);
  EXPECT_EQ(job.resolved_inputs().trainer(), "command");
  EXPECT_EQ(job.resolved_inputs().trainer_version(), MLOPS_COMMAND_TRAINER_EXAMPLE);
  // Our evaluation of the program's XGBoost model on the held-out rows.
  EXPECT_GT(job.best_test_metrics().at("test_auc"), 0.8);
  ASSERT_TRUE(job.trials(0).has_objective_value());
  EXPECT_GT(job.trials(0).objective_value(), 0.8);
  // What the program logged through LogMetrics on our port.
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run run, tracking_->GetRun(job.best_run_id()));
  std::map<std::string, double> latest;
  for (const MetricSummary& m : run.metrics) latest[m.key] = m.value;
  EXPECT_EQ(latest.at("train_rows"), static_cast<double>(job.train_rows()));
  MLOPS_ASSERT_OK_AND_ASSIGN(MetricHistoryPage curve,
                             tracking_->GetMetricHistory(run.id, "example_validation_auc", "", 100));
  EXPECT_EQ(curve.points.size(), 10u);
  // The model, and the program's output, as artifacts.
  std::map<std::string, ArtifactRef> artifacts = Artifacts(run.id);
  ASSERT_EQ(artifacts.count("model/model.json"), 1u);
  EXPECT_EQ(job.model_artifact().sha256(), artifacts.at("model/model.json").sha256);
  EXPECT_THAT(Download(artifacts.at("logs/stdout.txt")), HasSubstr("train rows, 3 features"));
  EXPECT_THAT(Download(artifacts.at("logs/stderr.txt")), HasSubstr("logged 11 points"));
  ASSERT_EQ(peers_.registry.headers().size(), 1u);
  EXPECT_EQ(peers_.registry.headers()[0].expected_artifact().sha256(), job.model_artifact().sha256());
  EXPECT_EQ(job.registration().version(), 1);
}

TEST_F(TrainingCommandPgTest, OpaqueModelIsScoredByTheMetricTheProgramLoggedAndIsNotRegistered) {
  v1::TrainingJobSpec spec = CommandSpec({MLOPS_COMMAND_TRAINER_EXAMPLE, "--opaque"});
  v1::TrainingJob job = SubmitAndWait(spec);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.failure_reason();
  EXPECT_TRUE(job.trials(0).has_objective_value());
  EXPECT_TRUE(job.best_test_metrics().empty());
  EXPECT_EQ(Download(Artifacts(job.best_run_id()).at("model/model.bin")), "opaque model\n");
  spec.mutable_register_model()->set_model_name("opaque_model");
  job = SubmitAndWait(spec);
  EXPECT_EQ(job.state(), v1::JOB_STATE_FAILED);
  EXPECT_THAT(job.failure_reason(), HasSubstr("registration failed: the registry takes XGBoost models only"));
  EXPECT_TRUE(peers_.registry.headers().empty());
}

TEST_F(TrainingCommandPgTest, NonZeroExitFailsTheJobWithTheExitCodeAndKeepsStderr) {
  const v1::TrainingJob job = SubmitAndWait(CommandSpec({"sh", "-c", "echo cannot parse >&2; exit 3"}));
  ASSERT_EQ(job.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job.trials(0).status(), v1::RUN_STATUS_FAILED);
  EXPECT_EQ(job.trials(0).failure_reason(), "exit code 3");
  EXPECT_THAT(job.failure_reason(), HasSubstr("exit code 3"));
  EXPECT_EQ(Download(Artifacts(job.trials(0).run_id()).at("logs/stderr.txt")), "cannot parse\n");
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run run, tracking_->GetRun(job.trials(0).run_id()));
  EXPECT_EQ(run.status, RunStatus::kFailed);
}

TEST_F(TrainingCommandPgTest, HangingProgramTimesOut) {
  const auto start = std::chrono::steady_clock::now();
  const v1::TrainingJob job = SubmitAndWait(CommandSpec({"sleep", "60"}, 1'000'000));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  ASSERT_EQ(job.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job.trials(0).failure_reason(), "timeout: timed out after 1s");
}

TEST_F(TrainingCommandPgTest, CancelRunStopsTheProgram) {
  v1::TrainingJob job;
  ASSERT_TRUE(Submit(CommandSpec({"sleep", "60"}), &job).ok());
  const std::string run_id = TrialRun(job.id());
  ASSERT_FALSE(run_id.empty());
  const auto start = std::chrono::steady_clock::now();
  v1::CancelRunRequest cancel;
  cancel.set_run_id(run_id);
  v1::Run cancelled;
  ASSERT_TRUE(stub_->CancelRun(Ctx().get(), cancel, &cancelled).ok());
  job = WaitForEnd(job.id());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_EQ(job.trials(0).status(), v1::RUN_STATUS_CANCELLED);
}

TEST_F(TrainingCommandPgTest, WatchRunStreamsOutputLinesWhileTheProgramRuns) {
  v1::TrainingJob job;
  ASSERT_TRUE(Submit(CommandSpec({"/bin/sh", "-c", "echo first; echo warn >&2; sleep 2; echo second; exit 3"}), &job).ok());
  const std::string run_id = TrialRun(job.id());
  ASSERT_FALSE(run_id.empty());
  v1::WatchRunRequest req;
  req.set_run_id(run_id);
  auto ctx = Ctx("viewer-tok");
  auto reader = stub_->WatchRun(ctx.get(), req);
  using Clock = std::chrono::steady_clock;
  std::map<std::string, Clock::time_point> seen;  // "stream: text" -> when it arrived
  Clock::time_point ended{};
  v1::RunEvent event;
  for (int i = 0; i < 1000 && reader->Read(&event); ++i) {
    if (event.has_log()) {
      EXPECT_EQ(event.log().run_id(), run_id);
      seen.emplace(event.log().stream() + ": " + event.log().text(), Clock::now());
    }
    if (event.has_snapshot() && event.snapshot().status() == v1::RUN_STATUS_FAILED) ended = Clock::now();
  }
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_TRUE(seen.count("stdout: first") && seen.count("stderr: warn") && seen.count("stdout: second"));
  ASSERT_NE(ended, Clock::time_point{});
  // "first" came while the program slept, not with the artifacts at the end.
  EXPECT_GT(seen["stdout: second"] - seen["stdout: first"], std::chrono::milliseconds(1000));
  EXPECT_GT(ended - seen["stdout: first"], std::chrono::milliseconds(1000));
  EXPECT_LE(seen["stdout: second"], ended);
  // The whole output is still kept as artifacts.
  EXPECT_EQ(Download(Artifacts(run_id).at("logs/stdout.txt")), "first\nsecond\n");
}

TEST_F(TrainingCommandPgTest, ProgramWritingNoModelFails) {
  const v1::TrainingJob job = SubmitAndWait(CommandSpec({"sh", "-c", "head -3 \"$MLOPS_TRAIN_FILE\""}));
  ASSERT_EQ(job.state(), v1::JOB_STATE_FAILED);
  EXPECT_THAT(job.trials(0).failure_reason(), HasSubstr("no model written to "));
  EXPECT_THAT(Download(Artifacts(job.trials(0).run_id()).at("logs/stdout.txt")), ::testing::StartsWith("label,x0,x1,x2\n"));
}

TEST_F(TrainingCommandPgTest, BadCommandSpecsAreInvalidArgument) {
  std::string message;
  v1::TrainingJobSpec spec = CommandSpec({});
  EXPECT_EQ(SubmitCode(spec, &message), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(message, HasSubstr("trainer.command.argv"));
  spec = CommandSpec({"true"});
  (*spec.mutable_trainer()->mutable_command()->mutable_env())["MLOPS_TOKEN"] = "x";
  EXPECT_EQ(SubmitCode(spec, &message), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(message, HasSubstr("MLOPS_ names are set by the service"));
}

}  // namespace
}  // namespace mlops::training
