// The ingestion service through in-process gRPC over a real Postgres:
// datasets, ingest/read round trips, the bad-input list of issue 3,
// idempotent replay, concurrent ingests forming one chain, atomic commits.
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/auth/authorizer.h"
#include "common/auth/token.h"
#include "common/auth/token_store.h"
#include "common/db/migrations.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "mlops_migrations/ingestion_migrations.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/ingestion_pg_fixture.h"
#include "services/ingestion/ingestion_service.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/pg_ingestion_store.h"

namespace mlops::ingestion {
namespace {

using ::testing::HasSubstr;
namespace cv1 = ::mlops::common::v1;


cv1::Value I(int64_t v) { cv1::Value x; x.set_int64_value(v); return x; }
cv1::Value D(double v) { cv1::Value x; x.set_double_value(v); return x; }
cv1::Value S(const std::string& v) { cv1::Value x; x.set_string_value(v); return x; }
cv1::Value T(int64_t v) { cv1::Value x; x.set_timestamp_micros(v); return x; }
cv1::Value Null() { return cv1::Value(); }

cv1::Row MakeRow(std::vector<cv1::Value> values) {
  cv1::Row r;
  for (auto& v : values) *r.add_values() = std::move(v);
  return r;
}

cv1::Row TxRow(int64_t i) {
  return MakeRow({I(i), D(static_cast<double>(i) * 1.5), i % 3 == 0 ? Null() : S("l" + std::to_string(i)),
                  T(1'700'000'000'000'000 + i)});
}

class IngestionServiceTest : public IngestionPgFixture {
 protected:
  grpc::Status Create(const std::string& name, std::vector<v1::Expectation> exps = {}) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    v1::CreateDatasetRequest req;
    req.set_name(name);
    *req.mutable_schema() = TxSchema();
    for (auto& e : exps) *req.add_expectations() = e;
    v1::Dataset resp;
    return stub_->CreateDataset(&ctx, req, &resp);
  }

  std::vector<cv1::Row> Read(const std::string& version_id, int64_t offset = 0,
                             v1::ReadHeader* header = nullptr) {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    v1::ReadDatasetVersionRequest req;
    req.mutable_version()->set_version_id(version_id);
    req.set_offset(offset);
    req.set_chunk_rows(5);
    auto reader = stub_->ReadDatasetVersion(&ctx, req);
    v1::ReadDatasetVersionResponse msg;
    std::vector<cv1::Row> rows;
    while (reader->Read(&msg)) {
      if (msg.has_header() && header != nullptr) *header = msg.header();
      for (const auto& r : msg.chunk().rows()) rows.push_back(r);
    }
    EXPECT_TRUE(reader->Finish().ok());
    return rows;
  }
};

std::vector<cv1::Row> Rows(int64_t from, int64_t to) {
  std::vector<cv1::Row> rows;
  for (int64_t i = from; i < to; ++i) rows.push_back(TxRow(i));
  return rows;
}

bool SameRows(const std::vector<cv1::Row>& a, const std::vector<cv1::Row>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].SerializeAsString() != b[i].SerializeAsString()) return false;
  }
  return true;
}

TEST_F(IngestionServiceTest, CreateGetListDataset) {
  ASSERT_TRUE(Create("tx").ok());
  EXPECT_EQ(Create("tx").error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Create("Bad-Name").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext ctx;
  Auth(&ctx, kViewerToken);
  v1::GetDatasetRequest req;
  req.set_name("tx");
  v1::Dataset d;
  ASSERT_TRUE(stub_->GetDataset(&ctx, req, &d).ok());
  EXPECT_EQ(d.schema().columns_size(), 4);
  EXPECT_EQ(d.expectations().version(), 1);
  EXPECT_EQ(d.principal(), "alice");
  grpc::ClientContext ctx2;
  Auth(&ctx2, kViewerToken);
  v1::ListDatasetsResponse list;
  ASSERT_TRUE(stub_->ListDatasets(&ctx2, v1::ListDatasetsRequest(), &list).ok());
  ASSERT_EQ(list.datasets_size(), 1);
  EXPECT_EQ(list.datasets(0).name(), "tx");
}

TEST_F(IngestionServiceTest, ViewerCannotWrite) {
  grpc::ClientContext ctx;
  Auth(&ctx, kViewerToken);
  v1::CreateDatasetRequest req;
  req.set_name("tx");
  *req.mutable_schema() = TxSchema();
  v1::Dataset resp;
  EXPECT_EQ(stub_->CreateDataset(&ctx, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(IngestionServiceTest, ExpectationOnMissingColumnIsInvalidArgument) {
  v1::Expectation e;
  e.set_column("amout");
  e.mutable_not_null();
  grpc::Status s = Create("tx", {e});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("amout"));
}

TEST_F(IngestionServiceTest, IngestThenReadReturnsExactlyTheRowsStably) {
  ASSERT_TRUE(Create("tx").ok());
  std::vector<cv1::Row> first = Rows(0, 23);
  IngestResult a = Ingest("tx", first);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_EQ(a.resp.outcome(), v1::INGEST_OUTCOME_COMMITTED);
  EXPECT_EQ(a.resp.version().id().size(), 64u);
  EXPECT_EQ(a.resp.version().sequence(), 1);
  EXPECT_EQ(a.resp.version().row_count(), 23);

  std::vector<cv1::Row> second = Rows(100, 110);
  IngestResult b = Ingest("tx", second);
  ASSERT_TRUE(b.status.ok()) << b.status.error_message();
  EXPECT_EQ(b.resp.version().parent_id(), a.resp.version().id());
  EXPECT_EQ(b.resp.version().row_count(), 33);

  std::vector<cv1::Row> all = first;
  all.insert(all.end(), second.begin(), second.end());
  v1::ReadHeader header;
  std::vector<cv1::Row> read1 = Read(b.resp.version().id(), 0, &header);
  std::vector<cv1::Row> read2 = Read(b.resp.version().id());
  EXPECT_EQ(header.row_count(), 33);
  EXPECT_TRUE(SameRows(read1, all));
  EXPECT_TRUE(SameRows(read1, read2));
  // From the parent's row count: exactly the batch's rows.
  EXPECT_TRUE(SameRows(Read(b.resp.version().id(), 23), second));
  // The parent still reads as before.
  EXPECT_TRUE(SameRows(Read(a.resp.version().id()), first));

  // REPLACE: only the batch's rows.
  IngestResult c = Ingest("tx", Rows(7, 9), "", true, v1::INGEST_MODE_REPLACE);
  ASSERT_TRUE(c.status.ok()) << c.status.error_message();
  EXPECT_TRUE(SameRows(Read(c.resp.version().id()), Rows(7, 9)));

  // Profile and lineage.
  grpc::ClientContext pctx;
  Auth(&pctx, kViewerToken);
  v1::GetProfileRequest preq;
  preq.mutable_version()->set_version_id(b.resp.version().id());
  v1::GetProfileResponse prof;
  ASSERT_TRUE(stub_->GetProfile(&pctx, preq, &prof).ok());
  EXPECT_EQ(prof.profile().row_count(), 33);
  grpc::ClientContext lctx;
  Auth(&lctx, kViewerToken);
  v1::GetLineageRequest lreq;
  lreq.mutable_version()->set_dataset("tx");
  lreq.set_max_ancestors(10);
  v1::GetLineageResponse lin;
  ASSERT_TRUE(stub_->GetLineage(&lctx, lreq, &lin).ok());
  EXPECT_EQ(lin.version().id(), c.resp.version().id());
  ASSERT_EQ(lin.ancestors_size(), 2);
  EXPECT_EQ(lin.ancestors(0).id(), b.resp.version().id());
  EXPECT_EQ(lin.suite().version(), 1);
}

TEST_F(IngestionServiceTest, UnknownDatasetIsNotFound) {
  IngestResult r = Ingest("nope", Rows(0, 2));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(IngestionServiceTest, BadRowsAreInvalidArgumentNamingRowAndColumn) {
  ASSERT_TRUE(Create("tx").ok());
  struct Case {
    cv1::Row bad;
    std::string want;
  };
  std::vector<Case> cases = {
      {MakeRow({I(1), D(1)}), "row 4"},                                   // arity
      {MakeRow({S("x"), D(1), Null(), T(1)}), "column \"id\""},          // type
      {MakeRow({I(1), Null(), Null(), T(1)}), "column \"amount\""},      // null
      {MakeRow({I(1), D(std::nan("")), Null(), T(1)}), "column \"amount\""},  // NaN
      {MakeRow({I(1), D(1), Null(), T(std::numeric_limits<int64_t>::max())}), "column \"ts\""},
  };
  for (const Case& c : cases) {
    std::vector<cv1::Row> rows = Rows(0, 4);
    rows.push_back(c.bad);
    IngestResult r = Ingest("tx", rows);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.want;
    EXPECT_THAT(r.status.error_message(), HasSubstr("row 4")) << r.status.error_message();
    EXPECT_THAT(r.status.error_message(), HasSubstr(c.want)) << r.status.error_message();
    // Chunks received after the bad one (while it is being validated) do
    // not change the answer.
    std::vector<cv1::Row> more = Rows(5, 20);
    rows.insert(rows.end(), more.begin(), more.end());
    IngestResult followed = Ingest("tx", rows);
    EXPECT_EQ(followed.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.want;
    EXPECT_EQ(followed.status.error_message(), r.status.error_message());
  }
  EXPECT_EQ(VersionCount("tx"), 0);
}

TEST_F(IngestionServiceTest, StreamWithoutBatchEndStoresNothing) {
  ASSERT_TRUE(Create("tx").ok());
  IngestResult r = Ingest("tx", Rows(0, 10), "", /*end=*/false);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(VersionCount("tx"), 0);
}

TEST_F(IngestionServiceTest, RejectedBatchReturnsReportAndStoresNothing) {
  v1::Expectation e;
  e.set_column("amount");
  e.mutable_between()->mutable_max()->set_double_value(10.0);
  ASSERT_TRUE(Create("tx", {e}).ok());
  IngestResult r = Ingest("tx", Rows(0, 20));  // amounts up to 28.5
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.resp.outcome(), v1::INGEST_OUTCOME_REJECTED);
  EXPECT_FALSE(r.resp.report().passed());
  ASSERT_EQ(r.resp.report().results_size(), 1);
  EXPECT_GT(r.resp.report().results(0).failing_count(), 0);
  EXPECT_FALSE(r.resp.has_version());
  EXPECT_EQ(VersionCount("tx"), 0);
}

TEST_F(IngestionServiceTest, IdempotencyKeyReplaysAndRejectsOtherContent) {
  ASSERT_TRUE(Create("tx").ok());
  IngestResult a = Ingest("tx", Rows(0, 5), "key-1");
  ASSERT_TRUE(a.status.ok());
  EXPECT_EQ(a.resp.outcome(), v1::INGEST_OUTCOME_COMMITTED);
  IngestResult b = Ingest("tx", Rows(0, 5), "key-1");
  ASSERT_TRUE(b.status.ok());
  EXPECT_EQ(b.resp.outcome(), v1::INGEST_OUTCOME_REPLAYED);
  EXPECT_EQ(b.resp.version().id(), a.resp.version().id());
  IngestResult c = Ingest("tx", Rows(0, 6), "key-1");
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(VersionCount("tx"), 1);
}

TEST_F(IngestionServiceTest, ConcurrentIngestsFormOneChain) {
  ASSERT_TRUE(Create("tx").ok());
  constexpr int kN = 8;
  std::vector<IngestResult> results(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] { results[i] = Ingest("tx", Rows(i * 10, i * 10 + 10)); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  grpc::ClientContext ctx;
  Auth(&ctx, kViewerToken);
  v1::ListDatasetVersionsRequest req;
  req.set_dataset("tx");
  req.set_oldest_first(true);
  v1::ListDatasetVersionsResponse list;
  ASSERT_TRUE(stub_->ListDatasetVersions(&ctx, req, &list).ok());
  ASSERT_EQ(list.versions_size(), kN);
  std::set<std::string> ids;
  std::string parent;
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(list.versions(i).sequence(), i + 1);
    EXPECT_EQ(list.versions(i).parent_id(), parent);
    EXPECT_EQ(list.versions(i).row_count(), 10 * (i + 1));
    parent = list.versions(i).id();
    ids.insert(parent);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kN));
  EXPECT_EQ(Read(parent).size(), static_cast<size_t>(10 * kN));
}

TEST_F(IngestionServiceTest, ErrorMidCommitLeavesNoVersion) {
  ASSERT_TRUE(Create("tx").ok());
  std::vector<ChunkData> chunks(1);
  chunks[0].row_count = 2;
  v1::RowChunk rc;
  *rc.add_rows() = TxRow(1);
  *rc.add_rows() = TxRow(2);
  chunks[0].rows = rc.SerializeAsString();
  // The version claims 3 rows but lists chunks holding 2: the store fails
  // after writing chunks and the version row, inside the transaction.
  absl::StatusOr<CommitOutcome> out = store_->CommitVersion(
      "tx", "", [&](const std::optional<VersionRecord>&) {
        PreparedVersion p;
        p.version.id = std::string(64, 'a');
        p.version.dataset = "tx";
        p.version.row_count = 3;
        p.version.batch_row_count = 3;
        p.chunks = [&](const std::function<absl::Status(const ChunkData&)>& fn) {
          return fn(chunks[0]);
        };
        return absl::StatusOr<std::optional<PreparedVersion>>(std::optional<PreparedVersion>(p));
      });
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(VersionCount("tx"), 0);
  EXPECT_EQ(store_->ReadChunk(std::string(64, 'a') + "/0").status().code(),
            absl::StatusCode::kNotFound);
  MLOPS_ASSERT_OK_AND_ASSIGN(DatasetRecord d, store_->GetDataset("tx"));
  EXPECT_EQ(d.head_version_id, "");
}


TEST_F(IngestionServiceTest, UniqueVersionScopeSeesParentRows) {
  v1::Expectation e;
  e.set_column("id");
  e.mutable_unique();  // SCOPE_UNSPECIFIED = version
  ASSERT_TRUE(Create("tx", {e}).ok());
  ASSERT_EQ(Ingest("tx", Rows(0, 10)).resp.outcome(), v1::INGEST_OUTCOME_COMMITTED);
  IngestResult dup = Ingest("tx", Rows(5, 12));  // ids 5..9 are in the parent
  ASSERT_TRUE(dup.status.ok()) << dup.status.error_message();
  EXPECT_EQ(dup.resp.outcome(), v1::INGEST_OUTCOME_REJECTED);
  EXPECT_EQ(dup.resp.report().results(0).failing_count(), 5);
  EXPECT_EQ(Ingest("tx", Rows(10, 12)).resp.outcome(), v1::INGEST_OUTCOME_COMMITTED);
}

TEST_F(IngestionServiceTest, UpdateExpectationsChecksTheSuiteVersion) {
  ASSERT_TRUE(Create("tx").ok());
  v1::UpdateExpectationsRequest req;
  req.set_dataset("tx");
  req.set_expected_suite_version(1);
  auto* e = req.add_expectations();
  e->set_column("amount");
  e->mutable_between()->mutable_max()->set_double_value(1.0);
  v1::ExpectationSuite suite;
  {
    grpc::ClientContext ctx;
    Auth(&ctx);
    ASSERT_TRUE(stub_->UpdateExpectations(&ctx, req, &suite).ok());
    EXPECT_EQ(suite.version(), 2);
  }
  {
    grpc::ClientContext ctx;
    Auth(&ctx);
    EXPECT_EQ(stub_->UpdateExpectations(&ctx, req, &suite).error_code(), grpc::StatusCode::ABORTED);
  }
  // The new suite applies to later batches.
  IngestResult r = Ingest("tx", Rows(0, 5));
  EXPECT_EQ(r.resp.outcome(), v1::INGEST_OUTCOME_REJECTED);
  EXPECT_EQ(r.resp.report().suite_version(), 2);
}

TEST_F(IngestionServiceTest, ValidateBatchStoresNothing) {
  ASSERT_TRUE(Create("tx").ok());
  grpc::ClientContext ctx;
  Auth(&ctx, kViewerToken);
  v1::ValidateBatchResponse resp;
  auto writer = stub_->ValidateBatch(&ctx, &resp);
  v1::IngestBatchRequest msg;
  msg.mutable_header()->set_dataset("tx");
  writer->Write(msg);
  v1::IngestBatchRequest chunk;
  for (const auto& r : Rows(0, 4)) *chunk.mutable_chunk()->add_rows() = r;
  writer->Write(chunk);
  v1::IngestBatchRequest end;
  end.mutable_end()->set_row_count(4);
  writer->Write(end);
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_TRUE(resp.report().passed());
  EXPECT_EQ(resp.report().row_count(), 4);
  EXPECT_EQ(VersionCount("tx"), 0);
}

TEST_F(IngestionServiceTest, WatchDeliversNewVersions) {
  ASSERT_TRUE(Create("tx").ok());
  ASSERT_EQ(Ingest("tx", Rows(0, 3)).resp.outcome(), v1::INGEST_OUTCOME_COMMITTED);
  grpc::ClientContext ctx;
  Auth(&ctx, kViewerToken);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::WatchDatasetVersionsRequest req;
  req.add_datasets("tx");
  (*req.mutable_after_sequence())["tx"] = 0;  // replay from the start
  auto reader = stub_->WatchDatasetVersions(&ctx, req);
  v1::WatchDatasetVersionsResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.version().sequence(), 1);
  IngestResult b = Ingest("tx", Rows(3, 6));
  ASSERT_TRUE(b.status.ok());
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.version().id(), b.resp.version().id());
  ctx.TryCancel();
  v1::WatchDatasetVersionsResponse drain;
  for (int i = 0; i < 10 && reader->Read(&drain); ++i) {
  }
  reader->Finish();
}

}  // namespace
}  // namespace mlops::ingestion
