#pragma once
// A gateway with batch scoring over the real ingestion service (in process,
// over loopback gRPC, its own schema "ingestion" in the test's database), on
// top of GatewayPgTest (fake registry serving real XGBoost models), with
// helpers to make datasets, submit jobs, await them and read outputs.

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mlops_migrations/ingestion_migrations.h"
#include "services/gateway/testing/gateway_fixture.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/ingestion_service.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/pg_ingestion_store.h"

namespace mlops::gateway::testing {

namespace iv1 = ::mlops::inference::v1;
namespace inv1 = ::mlops::ingestion::v1;
namespace cv1 = ::mlops::common::v1;

class BatchPgTest : public GatewayPgTest {
 protected:
  void SetUp() override {
    GatewayPgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions o;
    o.search_path = "ingestion";
    ingestion_pool_ = MakePool(o);
    ASSERT_THAT(RunMigrations(*ingestion_pool_, "ingestion", ingestion::EmbeddedMigrations()).status(),
                IsOk());
    ingestion_store_ = std::make_unique<ingestion::PgIngestionStore>(ingestion_pool_.get());
    ingestion_metrics_ = std::make_unique<ingestion::IngestionMetrics>(nullptr);
    ingestion_ = std::make_unique<ingestion::Ingestion>(ingestion_store_.get(), ingestion_metrics_.get());
    ingestion_service_ = std::make_unique<ingestion::IngestionServiceImpl>(ingestion_.get(), &authorizer_);
    MLOPS_ASSERT_OK_AND_ASSIGN(ingestion_server_,
                               LoopbackServer::Start({ingestion_service_.get()}, "ingestion"));
    ingestion_stub_ = inv1::IngestionService::NewStub(ingestion_server_->peer()->channel());
    ingestion_peer_ = ingestion_server_->peer();
    Restart();  // the gateway again, now with batch scoring
  }
  void TearDown() override {
    stack_.reset();
    ingestion_stub_.reset();
    ingestion_server_.reset();
    ingestion_service_.reset();
    ingestion_.reset();
    ingestion_store_.reset();
    ingestion_pool_.reset();
    GatewayPgTest::TearDown();
  }

  // Creates dataset `name` with `schema` and appends `rows` as one batch;
  // returns the version id.
  std::string MakeDataset(const std::string& name, const cv1::Schema& schema,
                          const std::vector<cv1::Row>& rows) {
    inv1::CreateDatasetRequest create;
    create.set_name(name);
    *create.mutable_schema() = schema;
    inv1::Dataset d;
    {
      grpc::ClientContext ctx;
      EXPECT_TRUE(ingestion_stub_->CreateDataset(&ctx, create, &d).ok());
    }
    grpc::ClientContext ctx;
    inv1::IngestBatchResponse resp;
    auto writer = ingestion_stub_->IngestBatch(&ctx, &resp);
    inv1::IngestBatchRequest msg;
    msg.mutable_header()->set_dataset(name);
    writer->Write(msg);
    msg.Clear();
    for (const cv1::Row& r : rows) *msg.mutable_chunk()->add_rows() = r;
    writer->Write(msg);
    msg.Clear();
    msg.mutable_end()->set_row_count(static_cast<int64_t>(rows.size()));
    writer->Write(msg);
    writer->WritesDone();
    EXPECT_TRUE(writer->Finish().ok());
    EXPECT_EQ(resp.outcome(), inv1::INGEST_OUTCOME_COMMITTED);
    return resp.version().id();
  }

  static iv1::SubmitBatchScoringRequest Job(const std::string& input, int64_t version = 1) {
    iv1::SubmitBatchScoringRequest req;
    req.set_model("fraud");
    req.set_version(version);
    req.set_input_dataset_version(input);
    req.set_output_dataset("fraud_scores");
    return req;
  }
  grpc::Status Submit(const iv1::SubmitBatchScoringRequest& req, iv1::BatchScoringJob* job) {
    grpc::ClientContext ctx;
    return stack_->stub->SubmitBatchScoring(&ctx, req, job);
  }
  // Polls the job until it finished (bounded: 60 s).
  iv1::BatchScoringJob AwaitFinished(const std::string& job_id) {
    iv1::BatchScoringJob job;
    for (int i = 0; i < 600; ++i) {
      grpc::ClientContext ctx;
      iv1::GetBatchScoringJobRequest req;
      req.set_job_id(job_id);
      EXPECT_TRUE(stack_->stub->GetBatchScoringJob(&ctx, req, &job).ok());
      if (job.state() == iv1::BATCH_JOB_STATE_SUCCEEDED || job.state() == iv1::BATCH_JOB_STATE_FAILED) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return job;
  }
  // Every row of a version (header schema, rows).
  std::pair<cv1::Schema, std::vector<cv1::Row>> ReadAll(const std::string& version_id) {
    grpc::ClientContext ctx;
    inv1::ReadDatasetVersionRequest req;
    req.mutable_version()->set_version_id(version_id);
    auto reader = ingestion_stub_->ReadDatasetVersion(&ctx, req);
    inv1::ReadDatasetVersionResponse msg;
    std::pair<cv1::Schema, std::vector<cv1::Row>> out;
    while (reader->Read(&msg)) {
      if (msg.has_header()) out.first = msg.header().schema();
      for (const cv1::Row& r : msg.chunk().rows()) out.second.push_back(r);
    }
    EXPECT_TRUE(reader->Finish().ok());
    return out;
  }
  int64_t OutputVersions() {
    grpc::ClientContext ctx;
    inv1::ListDatasetVersionsRequest req;
    req.set_dataset("fraud_scores");
    inv1::ListDatasetVersionsResponse resp;
    EXPECT_TRUE(ingestion_stub_->ListDatasetVersions(&ctx, req, &resp).ok());
    return resp.versions_size();
  }

  std::unique_ptr<PgPool> ingestion_pool_;
  std::unique_ptr<ingestion::PgIngestionStore> ingestion_store_;
  std::unique_ptr<ingestion::IngestionMetrics> ingestion_metrics_;
  std::unique_ptr<ingestion::Ingestion> ingestion_;
  std::unique_ptr<ingestion::IngestionServiceImpl> ingestion_service_;
  std::unique_ptr<LoopbackServer> ingestion_server_;
  std::unique_ptr<inv1::IngestionService::Stub> ingestion_stub_;
};

}  // namespace mlops::gateway::testing
