#pragma once
// Harness and fixture for the feature service's pg tests and benchmark: a fresh database holding the
// real ingestion service (schema "ingestion") and the feature service
// (schema "features"), both served over in-process gRPC; the feature
// service reaches ingestion through an in-process channel. StartFeatures()
// builds a fresh feature service instance over the same database (a
// restarted replica). Tests only.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/auth/authorizer.h"
#include "common/auth/token.h"
#include "common/auth/token_store.h"
#include "common/db/migrations.h"
#include "common/metrics/rpc_metrics.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "mlops_migrations/features_migrations.h"
#include "mlops_migrations/ingestion_migrations.h"
#include "prometheus/registry.h"
#include "services/features/features_service.h"
#include "services/features/features_stack.h"
#include "services/features/proto_convert.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/ingestion_service.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/pg_ingestion_store.h"

namespace mlops::features::testing {

inline constexpr char kEditorToken[] = "editor-token-123";
inline constexpr char kViewerToken[] = "viewer-token-123";
inline constexpr int64_t kT0 = 1'700'000'000'000'000;  // 2023-11-14
inline constexpr int64_t kHour = 3'600'000'000;

inline cv1::Value I(int64_t v) { cv1::Value x; x.set_int64_value(v); return x; }
inline cv1::Value D(double v) { cv1::Value x; x.set_double_value(v); return x; }
inline cv1::Value S(const std::string& v) { cv1::Value x; x.set_string_value(v); return x; }
inline cv1::Value T(int64_t v) { cv1::Value x; x.set_timestamp_micros(v); return x; }
inline cv1::Value Null() { return cv1::Value(); }

inline cv1::Row MakeRow(std::vector<cv1::Value> values) {
  cv1::Row r;
  for (auto& v : values) *r.add_values() = std::move(v);
  return r;
}

inline void AddColumn(cv1::Schema* s, const char* name, cv1::DataType t, bool nullable,
                      cv1::ColumnRole role) {
  cv1::Column* c = s->add_columns();
  c->set_name(name);
  c->set_type(t);
  c->set_nullable(nullable);
  c->set_role(role);
}

// Dataset "tx": id INT64 key, ts TIMESTAMP, amount DOUBLE, cat STRING?, n INT64?.
inline cv1::Schema TxSchema() {
  cv1::Schema s;
  AddColumn(&s, "id", cv1::DATA_TYPE_INT64, false, cv1::COLUMN_ROLE_ENTITY_KEY);
  AddColumn(&s, "ts", cv1::DATA_TYPE_TIMESTAMP, false, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
  AddColumn(&s, "amount", cv1::DATA_TYPE_DOUBLE, false, cv1::COLUMN_ROLE_FEATURE);
  AddColumn(&s, "cat", cv1::DATA_TYPE_STRING, true, cv1::COLUMN_ROLE_FEATURE);
  AddColumn(&s, "n", cv1::DATA_TYPE_INT64, true, cv1::COLUMN_ROLE_FEATURE);
  return s;
}

inline void Auth(grpc::ClientContext* ctx, const char* token = kEditorToken) {
  ctx->AddMetadata(kAuthorizationKey, BearerValue(token));
}

// The two services over one database (see the file comment). Plain class:
// the gtest fixture below and the historical benchmark both use it.
class ServiceHarness {
 public:
  virtual ~ServiceHarness() { StopHarness(); }

 protected:
  // Migrates both schemas on `dsn` and starts both services.
  absl::Status StartHarness(const std::string& dsn) {
    PgPoolOptions iopts;
    iopts.dsn = dsn;
    iopts.search_path = "ingestion";
    iopts.size = 6;
    MLOPS_ASSIGN_OR_RETURN(ingestion_pool_, PgPool::Create(iopts));
    MLOPS_RETURN_IF_ERROR(
        RunMigrations(*ingestion_pool_, "ingestion", ingestion::EmbeddedMigrations()).status());
    PgPoolOptions fopts = iopts;
    fopts.search_path = "features";
    MLOPS_ASSIGN_OR_RETURN(features_pool_, PgPool::Create(fopts));
    MLOPS_RETURN_IF_ERROR(
        RunMigrations(*features_pool_, "features", EmbeddedMigrations()).status());
    TokenTable table;
    table[HashToken(kEditorToken)] = TokenEntry{Principal{"alice", Role::kEditor}, std::nullopt, 1};
    table[HashToken(kViewerToken)] = TokenEntry{Principal{"bob", Role::kViewer}, std::nullopt, 2};
    tokens_ = std::make_unique<TokenStore>(std::move(table));
    authorizer_ = std::make_unique<Authorizer>(tokens_.get());
    ingestion_store_ = std::make_unique<ingestion::PgIngestionStore>(ingestion_pool_.get());
    ingestion_metrics_ = std::make_unique<ingestion::IngestionMetrics>(nullptr);
    ingestion_ = std::make_unique<ingestion::Ingestion>(ingestion_store_.get(),
                                                        ingestion_metrics_.get());
    ingestion_service_ =
        std::make_unique<ingestion::IngestionServiceImpl>(ingestion_.get(), authorizer_.get());
    GrpcTestServerOptions big;
    big.max_message_bytes = 64 << 20;
    MLOPS_ASSIGN_OR_RETURN(ingestion_server_,
                           GrpcTestServer::Start({ingestion_service_.get()}, big));
    ingestion_stub_ = iv1::IngestionService::NewStub(ingestion_server_->InProcessChannel());
    return StartFeatures();
  }

  void StopHarness() {
    StopFeatures();
    ingestion_stub_.reset();
    ingestion_server_.reset();
    ingestion_service_.reset();
    ingestion_.reset();
    ingestion_store_.reset();
    features_pool_.reset();
    ingestion_pool_.reset();
  }

  // A fresh feature service instance (a restarted replica): loads the online
  // store from Postgres before it serves.
  absl::Status StartFeatures(FeaturesStackOptions options = {}) {
    StopFeatures();
    registry_ = std::make_unique<prometheus::Registry>();
    // The server's RPC metrics, as in production: GetOnlineFeatures records
    // its own calls, the interceptor the others.
    rpc_metrics_ = std::make_unique<RpcMetrics>(*registry_);
    options.rpc_metrics = rpc_metrics_.get();
    options.clock = [this] { return now_micros_; };
    std::shared_ptr<grpc::Channel> channel = ingestion_server_->InProcessChannel();
    MLOPS_ASSIGN_OR_RETURN(
        stack_, FeaturesStack::Create(
                    features_pool_.get(), channel,
                    [](std::chrono::milliseconds deadline) {
                      auto ctx = std::make_unique<grpc::ClientContext>();
                      ctx->set_deadline(std::chrono::system_clock::now() + deadline);
                      Auth(ctx.get());
                      return ctx;
                    },
                    registry_.get(), authorizer_.get(), options));
    MLOPS_RETURN_IF_ERROR(stack_->LoadOnlineStore());
    GrpcTestServerOptions big;
    big.max_message_bytes = 64 << 20;
    big.metrics = rpc_metrics_.get();
    MLOPS_ASSIGN_OR_RETURN(features_server_, GrpcTestServer::Start({stack_->service()}, big));
    stub_ = fv1::FeatureService::NewStub(features_server_->InProcessChannel());
    return absl::OkStatus();
  }

  void StopFeatures() {
    stub_.reset();
    features_server_.reset();
    stack_.reset();
    rpc_metrics_.reset();
  }

  grpc::Status CreateDataset(const std::string& name, const cv1::Schema& schema = TxSchema()) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    iv1::CreateDatasetRequest req;
    req.set_name(name);
    *req.mutable_schema() = schema;
    iv1::Dataset resp;
    return ingestion_stub_->CreateDataset(&ctx, req, &resp);
  }

  // Appends rows as one batch; the new version id.
  absl::StatusOr<std::string> IngestRows(const std::string& dataset,
                                         const std::vector<cv1::Row>& rows) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    iv1::IngestBatchResponse resp;
    auto writer = ingestion_stub_->IngestBatch(&ctx, &resp);
    iv1::IngestBatchRequest msg;
    msg.mutable_header()->set_dataset(dataset);
    writer->Write(msg);
    for (size_t i = 0; i < rows.size(); i += 2000) {
      iv1::IngestBatchRequest c;
      for (size_t j = i; j < rows.size() && j < i + 2000; ++j) *c.mutable_chunk()->add_rows() = rows[j];
      if (!writer->Write(c)) break;
    }
    iv1::IngestBatchRequest end;
    end.mutable_end()->set_row_count(static_cast<int64_t>(rows.size()));
    writer->Write(end);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (!s.ok()) return FromGrpcStatus(s);
    return resp.version().id();
  }

  grpc::Status Register(const fv1::FeatureViewSpec& spec, fv1::RegisterFeatureViewResponse* resp,
                        const char* token = kEditorToken) {
    grpc::ClientContext ctx;
    Auth(&ctx, token);
    fv1::RegisterFeatureViewRequest req;
    *req.mutable_spec() = spec;
    return stub_->RegisterFeatureView(&ctx, req, resp);
  }

  std::unique_ptr<PgPool> ingestion_pool_;
  std::unique_ptr<PgPool> features_pool_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<ingestion::PgIngestionStore> ingestion_store_;
  std::unique_ptr<ingestion::IngestionMetrics> ingestion_metrics_;
  std::unique_ptr<ingestion::Ingestion> ingestion_;
  std::unique_ptr<ingestion::IngestionServiceImpl> ingestion_service_;
  std::unique_ptr<GrpcTestServer> ingestion_server_;
  std::unique_ptr<iv1::IngestionService::Stub> ingestion_stub_;
  int64_t now_micros_ = kT0 + 1000 * kHour;
  std::unique_ptr<prometheus::Registry> registry_;
  std::unique_ptr<RpcMetrics> rpc_metrics_;
  std::unique_ptr<FeaturesStack> stack_;
  std::unique_ptr<GrpcTestServer> features_server_;
  std::unique_ptr<fv1::FeatureService::Stub> stub_;
};

class FeaturesPgTest : public PgTest, public ServiceHarness {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    MLOPS_ASSERT_OK(StartHarness(dsn()));
  }

  void TearDown() override {
    StopHarness();
    PgTest::TearDown();
  }

  void StartFeatures(FeaturesStackOptions options = {}) {
    MLOPS_ASSERT_OK(ServiceHarness::StartFeatures(options));
  }

  // Appends rows as one batch; returns the new version id ("" on failure).
  std::string Ingest(const std::string& dataset, const std::vector<cv1::Row>& rows) {
    absl::StatusOr<std::string> id = IngestRows(dataset, rows);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }
};

}  // namespace mlops::features::testing
