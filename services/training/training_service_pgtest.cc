// The real TrainingServiceImpl over PgTrackingStore, called through gRPC
// (in-process channel): status codes, auth, streaming.
#include <cmath>
#include <memory>
#include <string>

#include "common/auth/authorizer.h"
#include "common/auth/token.h"
#include "common/auth/token_store.h"
#include "common/db/migrations.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops_migrations/training_migrations.h"
#include "prometheus/registry.h"
#include "services/training/pg_tracking_store.h"
#include "services/training/training_service.h"

namespace mlops::training {
namespace {

using ::testing::HasSubstr;

class TrainingServicePgTest : public PgTest {
 protected:
  TrainingServicePgTest()
      : tokens_(*ParseTokenFile(HashToken("viewer-tok") + " val viewer\n" +
                                    HashToken("editor-tok") + " ed editor\n",
                                "test")),
        authorizer_(&tokens_) {}

  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions options;
    options.search_path = "training";
    pool_ = MakePool(options);
    ASSERT_THAT(RunMigrations(*pool_, "training", EmbeddedMigrations()), IsOk());
    store_ = std::make_unique<PgTrackingStore>(pool_.get());
    tracking_ = std::make_unique<Tracking>(store_.get());
    metrics_ = std::make_unique<TrainingMetrics>(registry_);
    TrainingServiceOptions opts;
    opts.max_artifact_bytes = 1 << 20;
    service_ = std::make_unique<TrainingServiceImpl>(tracking_.get(), &authorizer_,
                                                     metrics_.get(), opts);
    MLOPS_ASSERT_OK_AND_ASSIGN(server_, GrpcTestServer::Start({service_.get()}));
    stub_ = v1::TrainingService::NewStub(server_->InProcessChannel());
  }
  void TearDown() override {
    stub_.reset();
    server_.reset();
    service_.reset();
    tracking_.reset();
    store_.reset();
    pool_.reset();
    PgTest::TearDown();
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "editor-tok") {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata(kAuthorizationKey, BearerValue(token));
    return ctx;
  }

  std::string StartRun() {
    v1::StartRunRequest req;
    req.set_name("r");
    v1::Run run;
    grpc::Status s = stub_->StartRun(Ctx().get(), req, &run);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return run.id();
  }

  TokenStore tokens_;
  Authorizer authorizer_;
  prometheus::Registry registry_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgTrackingStore> store_;
  std::unique_ptr<Tracking> tracking_;
  std::unique_ptr<TrainingMetrics> metrics_;
  std::unique_ptr<TrainingServiceImpl> service_;
  std::unique_ptr<GrpcTestServer> server_;
  std::unique_ptr<v1::TrainingService::Stub> stub_;
};

TEST_F(TrainingServicePgTest, ViewerCannotWriteAndAnonymousIsUnauthenticated) {
  v1::StartRunRequest req;
  v1::Run run;
  EXPECT_EQ(stub_->StartRun(Ctx("viewer-tok").get(), req, &run).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->StartRun(Ctx("").get(), req, &run).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::GetExperimentRequest get;
  get.set_name("default");
  v1::Experiment e;
  EXPECT_TRUE(stub_->GetExperiment(Ctx("viewer-tok").get(), get, &e).ok());
  EXPECT_EQ(e.name(), "default");
}

TEST_F(TrainingServicePgTest, LogMetricsStoresEarlierMessagesAndNamesTheNaNPoint) {
  std::string run_id = StartRun();
  v1::LogMetricsResponse resp;
  auto ctx = Ctx();
  auto writer = stub_->LogMetrics(ctx.get(), &resp);
  v1::LogMetricsRequest msg;
  msg.set_run_id(run_id);
  for (int i = 0; i < 5; ++i) {
    auto* p = msg.add_points();
    p->set_key("loss");
    p->set_value(1.0 / (i + 1));
    p->set_step(i);
  }
  ASSERT_TRUE(writer->Write(msg));
  msg.clear_run_id();
  msg.mutable_points(2)->set_value(std::nan(""));
  writer->Write(msg);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("message 1, points[2] \"loss\": NaN not allowed"));
  EXPECT_THAT(s.error_message(), HasSubstr("5 points stored"));
  v1::GetRunRequest get;
  get.set_run_id(run_id);
  v1::Run run;
  ASSERT_TRUE(stub_->GetRun(Ctx("viewer-tok").get(), get, &run).ok());
  ASSERT_EQ(run.metrics_size(), 1);
  EXPECT_EQ(run.metrics(0).count(), 5);
  EXPECT_EQ(run.metrics(0).step(), 4);
}

TEST_F(TrainingServicePgTest, LogMetricsWithoutRunIdOrToUnknownRunFails) {
  {
    v1::LogMetricsResponse resp;
    auto ctx = Ctx();
    auto writer = stub_->LogMetrics(ctx.get(), &resp);
    v1::LogMetricsRequest msg;
    writer->Write(msg);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    v1::LogMetricsResponse resp;
    auto ctx = Ctx();
    auto writer = stub_->LogMetrics(ctx.get(), &resp);
    v1::LogMetricsRequest msg;
    msg.set_run_id("run-00000000000000ff");
    auto* p = msg.add_points();
    p->set_key("x");
    writer->Write(msg);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(TrainingServicePgTest, BadParamsAreInvalidArgumentAndChangesFailedPrecondition) {
  std::string run_id = StartRun();
  v1::LogParamsRequest req;
  req.set_run_id(run_id);
  (*req.mutable_params())[std::string(251, 'k')] = "1";
  v1::LogParamsResponse resp;
  EXPECT_EQ(stub_->LogParams(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.clear_params();
  (*req.mutable_params())["lr"] = "0.1";
  EXPECT_TRUE(stub_->LogParams(Ctx().get(), req, &resp).ok());
  (*req.mutable_params())["lr"] = "0.3";
  grpc::Status s = stub_->LogParams(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("\"lr\""));
  v1::EndRunRequest end;
  end.set_run_id(run_id);
  end.set_status(v1::RUN_STATUS_RUNNING);
  v1::Run run;
  EXPECT_EQ(stub_->EndRun(Ctx().get(), end, &run).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListRunsRequest list;
  auto* mf = list.add_metrics();
  mf->set_key("auc");
  v1::ListRunsResponse runs;
  EXPECT_EQ(stub_->ListRuns(Ctx().get(), list, &runs).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TrainingServicePgTest, UploadThenDownloadRoundTrips) {
  std::string run_id = StartRun();
  std::string content(1500000, 'a');
  content[0] = 'b';
  v1::ArtifactRef ref;
  {
    auto ctx = Ctx();
    auto writer = stub_->UploadArtifact(ctx.get(), &ref);
    v1::UploadArtifactRequest msg;
    msg.mutable_header()->set_run_id(run_id);
    msg.mutable_header()->set_path("model/model.bin");
    ASSERT_TRUE(writer->Write(msg));
    msg.set_data(content.substr(0, 700000));
    ASSERT_TRUE(writer->Write(msg));
    msg.set_data(content.substr(700000));
    writer->Write(msg);  // the server may already have rejected the stream
    msg.mutable_end();
    writer->Write(msg);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    // The server's limit in this test is 1 MiB.
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  content.resize(900000);
  {
    auto ctx = Ctx();
    auto writer = stub_->UploadArtifact(ctx.get(), &ref);
    v1::UploadArtifactRequest msg;
    msg.mutable_header()->set_run_id(run_id);
    msg.mutable_header()->set_path("model/model.bin");
    ASSERT_TRUE(writer->Write(msg));
    msg.set_data(content);
    ASSERT_TRUE(writer->Write(msg));
    msg.mutable_end()->set_sha256(Sha256Hex(content));
    ASSERT_TRUE(writer->Write(msg));
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(ref.sha256(), Sha256Hex(content));
  v1::DownloadArtifactRequest req;
  req.set_sha256(ref.sha256());
  auto ctx = Ctx("viewer-tok");
  auto reader = stub_->DownloadArtifact(ctx.get(), req);
  v1::DownloadArtifactResponse msg;
  std::string back;
  bool got_ref = false;
  while (reader->Read(&msg)) {
    if (msg.has_ref()) got_ref = true;
    back += msg.data();
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(got_ref);
  EXPECT_EQ(back, content);
}

TEST_F(TrainingServicePgTest, JobRpcsAreNotImplementedYet) {
  v1::SubmitTrainingJobRequest req;
  v1::TrainingJob job;
  EXPECT_EQ(stub_->SubmitTrainingJob(Ctx().get(), req, &job).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace mlops::training
