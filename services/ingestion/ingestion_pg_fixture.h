#pragma once
// Test fixture shared by the ingestion pg tests: a fresh database with the
// ingestion migrations, an editor ("alice") and a viewer ("bob") token, the
// whole service (Ingestion, sources) behind an in-process gRPC server, and
// the transactions dataset schema the tests use. Header-only; test code.
#include <memory>
#include <string>
#include <vector>

#include "common/auth/authorizer.h"
#include "common/auth/token.h"
#include "common/auth/token_store.h"
#include "common/db/migrations.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "mlops_migrations/ingestion_migrations.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/ingestion_service.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/pg_ingestion_store.h"
#include "services/ingestion/pg_source_store.h"
#include "services/ingestion/source_catalog.h"
#include "services/ingestion/source_puller.h"

namespace mlops::ingestion {

inline constexpr char kEditorToken[] = "editor-token-123";
inline constexpr char kViewerToken[] = "viewer-token-123";

// id INT64 entity key, amount DOUBLE, label STRING nullable, ts TIMESTAMP
// event time.
inline common::v1::Schema TxSchema() {
  namespace cv1 = ::mlops::common::v1;
  cv1::Schema s;
  auto add = [&](const char* name, cv1::DataType t, bool nullable, cv1::ColumnRole role) {
    auto* c = s.add_columns();
    c->set_name(name);
    c->set_type(t);
    c->set_nullable(nullable);
    c->set_role(role);
  };
  add("id", cv1::DATA_TYPE_INT64, false, cv1::COLUMN_ROLE_ENTITY_KEY);
  add("amount", cv1::DATA_TYPE_DOUBLE, false, cv1::COLUMN_ROLE_FEATURE);
  add("label", cv1::DATA_TYPE_STRING, true, cv1::COLUMN_ROLE_FEATURE);
  add("ts", cv1::DATA_TYPE_TIMESTAMP, false, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
  return s;
}

// Owns everything it sets up; not thread-safe (one test at a time).
class IngestionPgFixture : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped()) return;
    PgPoolOptions opts;
    opts.search_path = "ingestion";
    opts.size = 12;
    pool_ = MakePool(opts);
    MLOPS_ASSERT_OK(RunMigrations(*pool_, "ingestion", EmbeddedMigrations()).status());
    TokenTable table;
    table[HashToken(kEditorToken)] = TokenEntry{Principal{"alice", Role::kEditor}, std::nullopt, 1};
    table[HashToken(kViewerToken)] = TokenEntry{Principal{"bob", Role::kViewer}, std::nullopt, 2};
    tokens_ = std::make_unique<TokenStore>(std::move(table));
    authorizer_ = std::make_unique<Authorizer>(tokens_.get());
    store_ = std::make_unique<PgIngestionStore>(pool_.get());
    metrics_ = std::make_unique<IngestionMetrics>(nullptr);
    ingestion_ = std::make_unique<Ingestion>(store_.get(), metrics_.get());
    source_store_ = std::make_unique<PgSourceStore>(pool_.get());
    catalog_ = std::make_unique<SourceCatalog>(store_.get(), source_store_.get());
    puller_ = std::make_unique<SourcePuller>(ingestion_.get(), source_store_.get(), metrics_.get());
    service_ = std::make_unique<IngestionServiceImpl>(ingestion_.get(), authorizer_.get(),
                                                      catalog_.get(), puller_.get());
    MLOPS_ASSERT_OK_AND_ASSIGN(server_, GrpcTestServer::Start({service_.get()}));
    stub_ = v1::IngestionService::NewStub(server_->InProcessChannel());
  }

  void TearDown() override {
    stub_.reset();
    server_.reset();
    service_.reset();
    puller_.reset();
    catalog_.reset();
    source_store_.reset();
    ingestion_.reset();
    store_.reset();
    pool_.reset();
    PgTest::TearDown();
  }

  static void Auth(grpc::ClientContext* ctx, const char* token = kEditorToken) {
    ctx->AddMetadata(kAuthorizationKey, BearerValue(token));
  }

  struct IngestResult {
    grpc::Status status;
    v1::IngestBatchResponse resp;
  };

  // IngestBatch: streams header, rows in chunks of `chunk`, and (if `end`) BatchEnd.
  IngestResult Ingest(const std::string& dataset, const std::vector<common::v1::Row>& rows,
                      const std::string& key = "", bool end = true,
                      v1::IngestMode mode = v1::INGEST_MODE_APPEND, size_t chunk = 3) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    IngestResult out;
    auto writer = stub_->IngestBatch(&ctx, &out.resp);
    v1::IngestBatchRequest msg;
    msg.mutable_header()->set_dataset(dataset);
    msg.mutable_header()->set_idempotency_key(key);
    msg.mutable_header()->set_mode(mode);
    writer->Write(msg);
    for (size_t i = 0; i < rows.size(); i += chunk) {
      v1::IngestBatchRequest c;
      for (size_t j = i; j < rows.size() && j < i + chunk; ++j) *c.mutable_chunk()->add_rows() = rows[j];
      if (!writer->Write(c)) break;
    }
    if (end) {
      v1::IngestBatchRequest e;
      e.mutable_end()->set_row_count(static_cast<int64_t>(rows.size()));
      writer->Write(e);
    }
    writer->WritesDone();
    out.status = writer->Finish();
    return out;
  }

  // ValidateBatch (the dry run) of `rows` in one chunk.
  v1::ValidateBatchResponse ValidateRows(const std::string& dataset,
                                         const std::vector<common::v1::Row>& rows,
                                         v1::IngestMode mode = v1::INGEST_MODE_APPEND) {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    v1::ValidateBatchResponse resp;
    auto writer = stub_->ValidateBatch(&ctx, &resp);
    v1::IngestBatchRequest msg;
    msg.mutable_header()->set_dataset(dataset);
    msg.mutable_header()->set_mode(mode);
    writer->Write(msg);
    v1::IngestBatchRequest chunk;
    for (const auto& r : rows) *chunk.mutable_chunk()->add_rows() = r;
    writer->Write(chunk);
    v1::IngestBatchRequest end;
    end.mutable_end()->set_row_count(static_cast<int64_t>(rows.size()));
    writer->Write(end);
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  int64_t VersionCount(const std::string& dataset) {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    v1::ListDatasetVersionsRequest req;
    req.set_dataset(dataset);
    v1::ListDatasetVersionsResponse resp;
    EXPECT_TRUE(stub_->ListDatasetVersions(&ctx, req, &resp).ok());
    return resp.versions_size();
  }

  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<PgIngestionStore> store_;
  std::unique_ptr<IngestionMetrics> metrics_;
  std::unique_ptr<Ingestion> ingestion_;
  std::unique_ptr<PgSourceStore> source_store_;
  std::unique_ptr<SourceCatalog> catalog_;
  std::unique_ptr<SourcePuller> puller_;
  std::unique_ptr<IngestionServiceImpl> service_;
  std::unique_ptr<GrpcTestServer> server_;
  std::unique_ptr<v1::IngestionService::Stub> stub_;
};

}  // namespace mlops::ingestion
