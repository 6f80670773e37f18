// Pull sources through in-process gRPC over a real Postgres: the SQL source
// reads a second schema (`src`) of the test database; CSV folder sources
// read a temporary folder. Covers incremental pulls by watermark, nothing new,
// a rejected pull leaving the watermark, failures, CSV files taken once, the
// schedule (also after a "restart"), and bad input.
#include <sys/stat.h>
#include <sys/time.h>

#include <pqxx/pqxx>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "services/ingestion/ingestion_pg_fixture.h"
#include "services/ingestion/source_scheduler.h"

namespace mlops::ingestion {
namespace {

using ::testing::HasSubstr;
namespace cv1 = ::mlops::common::v1;

class SourcePgTest : public IngestionPgFixture {
 protected:
  void SetUp() override {
    IngestionPgFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    MLOPS_ASSERT_OK(Sql("CREATE SCHEMA src; CREATE TABLE src.tx (id bigint, amount float8, "
                        "label text, ts timestamptz, extra text)"));
    char tmpl[] = "/tmp/source_pgtest_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
    IngestionPgFixture::TearDown();
  }

  absl::Status Sql(const std::string& sql) {
    return pool_->WithTransaction({"kTestSql"}, [&](pqxx::transaction_base& tx) { tx.exec(sql); });
  }
  // Rows id in [from, to] into src.tx with amount = id, ts = 1 s * id.
  absl::Status InsertRows(int from, int to, double amount = -1) {
    return Sql("INSERT INTO src.tx SELECT i, " +
               (amount >= 0 ? std::to_string(amount) : std::string("i")) +
               ", 'l' || i, to_timestamp(i), 'x' FROM generate_series(" + std::to_string(from) +
               ", " + std::to_string(to) + ") i");
  }

  // Dataset `name` with an ERROR expectation amount <= 1000.
  void CreateDataset(const std::string& name) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    v1::CreateDatasetRequest req;
    req.set_name(name);
    *req.mutable_schema() = TxSchema();
    v1::Expectation* e = req.add_expectations();
    e->set_column("amount");
    e->mutable_between()->mutable_max()->set_double_value(1000);
    v1::Dataset resp;
    ASSERT_TRUE(stub_->CreateDataset(&ctx, req, &resp).ok());
  }

  v1::Source PgSource(const std::string& name, const std::string& dataset) {
    v1::Source s;
    s.set_name(name);
    s.set_dataset(dataset);
    s.mutable_postgres_query()->set_dsn(dsn());
    s.mutable_postgres_query()->set_query("SELECT id, amount, label, ts, extra FROM src.tx");
    s.mutable_postgres_query()->set_watermark_column("id");
    return s;
  }

  v1::Source CsvSource(const std::string& name, const std::string& dataset,
                       const std::string& dir) {
    v1::Source s;
    s.set_name(name);
    s.set_dataset(dataset);
    s.mutable_csv_folder()->set_path(dir);
    return s;
  }

  grpc::Status CreateSource(const v1::Source& source, v1::Source* out = nullptr,
                            const char* token = kEditorToken) {
    grpc::ClientContext ctx;
    Auth(&ctx, token);
    v1::CreateSourceRequest req;
    *req.mutable_source() = source;
    v1::Source resp;
    grpc::Status s = stub_->CreateSource(&ctx, req, &resp);
    if (out != nullptr) *out = resp;
    return s;
  }

  v1::SourcePullResult Pull(const std::string& name, grpc::Status* status = nullptr) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    v1::TriggerSourcePullRequest req;
    req.set_name(name);
    v1::SourcePullResult resp;
    grpc::Status s = stub_->TriggerSourcePull(&ctx, req, &resp);
    if (status != nullptr) {
      *status = s;
    } else {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    return resp;
  }

  v1::Source GetSource(const std::string& name) {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    v1::ListSourcesRequest req;
    v1::ListSourcesResponse resp;
    EXPECT_TRUE(stub_->ListSources(&ctx, req, &resp).ok());
    for (const v1::Source& s : resp.sources()) {
      if (s.name() == name) return s;
    }
    ADD_FAILURE() << "no source " << name;
    return v1::Source();
  }

  // Writes a file with an mtime in the past (older than the default 5 s).
  void WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    struct timeval tv[2] = {{1'600'000'000, 0}, {1'600'000'000, 0}};
    ASSERT_EQ(::utimes((dir + "/" + name).c_str(), tv), 0);
  }

  std::string dir_;
};

TEST_F(SourcePgTest, SqlSourcePullsOnlyNewRowsAndRejectedPullsKeepTheWatermark) {
  CreateDataset("tx");
  MLOPS_ASSERT_OK(InsertRows(1, 5));
  v1::Source created;
  ASSERT_TRUE(CreateSource(PgSource("tx_pull", "tx"), &created).ok());
  EXPECT_EQ(created.principal(), "alice");

  // First pull: all five rows, one version whose lineage names the source
  // and the watermark range.
  v1::SourcePullResult r1 = Pull("tx_pull");
  ASSERT_EQ(r1.outcome(), v1::PULL_OUTCOME_COMMITTED) << r1.error();
  EXPECT_EQ(r1.version().batch_row_count(), 5);
  EXPECT_EQ(r1.version().source(), "source:tx_pull");
  EXPECT_EQ(r1.version().pull().source(), "tx_pull");
  EXPECT_EQ(r1.version().pull().watermark_to().int64_value(), 5);
  EXPECT_FALSE(r1.version().pull().has_watermark_from());
  EXPECT_EQ(r1.version().principal(), "alice");
  EXPECT_TRUE(r1.report().passed());
  {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    v1::GetLineageRequest req;
    req.mutable_version()->set_version_id(r1.version().id());
    v1::GetLineageResponse lin;
    ASSERT_TRUE(stub_->GetLineage(&ctx, req, &lin).ok());
    EXPECT_EQ(lin.version().lineage().source(), "source:tx_pull");
    ASSERT_EQ(lin.version().lineage().inputs_size(), 1);
    EXPECT_EQ(lin.version().lineage().inputs(0).kind(), cv1::RESOURCE_KIND_EXTERNAL);
    EXPECT_EQ(lin.version().lineage().inputs(0).id(), "postgres-query:tx_pull?watermark=(none,5]");
    EXPECT_EQ(lin.version().pull().watermark_to().int64_value(), 5);
  }

  // More rows: only the new ones, appended.
  MLOPS_ASSERT_OK(InsertRows(6, 8));
  v1::SourcePullResult r2 = Pull("tx_pull");
  ASSERT_EQ(r2.outcome(), v1::PULL_OUTCOME_COMMITTED) << r2.error();
  EXPECT_EQ(r2.version().batch_row_count(), 3);
  EXPECT_EQ(r2.version().row_count(), 8);
  EXPECT_EQ(r2.version().parent_id(), r1.version().id());
  EXPECT_EQ(r2.pull().watermark_from().int64_value(), 5);
  EXPECT_EQ(r2.pull().watermark_to().int64_value(), 8);

  // Nothing new: no version.
  v1::SourcePullResult r3 = Pull("tx_pull");
  EXPECT_EQ(r3.outcome(), v1::PULL_OUTCOME_NO_NEW_DATA);
  EXPECT_FALSE(r3.has_version());
  EXPECT_EQ(VersionCount("tx"), 2);

  // A row breaking the ERROR expectation: rejected, nothing stored, the
  // watermark stays at 8.
  MLOPS_ASSERT_OK(InsertRows(9, 9, 5000));
  v1::SourcePullResult r4 = Pull("tx_pull");
  ASSERT_EQ(r4.outcome(), v1::PULL_OUTCOME_REJECTED) << r4.error();
  EXPECT_FALSE(r4.report().passed());
  EXPECT_FALSE(r4.has_version());
  EXPECT_EQ(VersionCount("tx"), 2);
  v1::Source state = GetSource("tx_pull");
  EXPECT_EQ(state.watermark().int64_value(), 8);
  EXPECT_EQ(state.pull_count(), 4);
  EXPECT_EQ(state.committed_pull_count(), 2);
  EXPECT_EQ(state.last_pull().outcome(), v1::PULL_OUTCOME_REJECTED);

  // Once the source row is fixed, the next pull takes it (from 8).
  MLOPS_ASSERT_OK(Sql("UPDATE src.tx SET amount = 9 WHERE id = 9"));
  v1::SourcePullResult r5 = Pull("tx_pull");
  ASSERT_EQ(r5.outcome(), v1::PULL_OUTCOME_COMMITTED) << r5.error();
  EXPECT_EQ(r5.version().batch_row_count(), 1);
  EXPECT_EQ(r5.pull().watermark_from().int64_value(), 8);
  EXPECT_EQ(GetSource("tx_pull").watermark().int64_value(), 9);
}

TEST_F(SourcePgTest, SqlSourceNeverSplitsARunOfEqualWatermarks) {
  CreateDataset("runs");
  MLOPS_ASSERT_OK(Sql("INSERT INTO src.tx VALUES (1, 1, 'a', to_timestamp(1), ''), "
                      "(2, 2, 'b', to_timestamp(2), ''), (2, 3, 'c', to_timestamp(2), ''), "
                      "(2, 4, 'd', to_timestamp(2), ''), (3, 5, 'e', to_timestamp(3), '')"));
  v1::Source s = PgSource("runs_pull", "runs");
  s.mutable_postgres_query()->set_max_rows_per_pull(2);  // cuts inside the run of id 2
  ASSERT_TRUE(CreateSource(s).ok());
  v1::SourcePullResult r1 = Pull("runs_pull");
  ASSERT_EQ(r1.outcome(), v1::PULL_OUTCOME_COMMITTED) << r1.error();
  EXPECT_EQ(r1.version().batch_row_count(), 4);  // 1, 2, 2, 2
  EXPECT_EQ(r1.pull().watermark_to().int64_value(), 2);
  v1::SourcePullResult r2 = Pull("runs_pull");
  ASSERT_EQ(r2.outcome(), v1::PULL_OUTCOME_COMMITTED) << r2.error();
  EXPECT_EQ(r2.version().batch_row_count(), 1);
  EXPECT_EQ(Pull("runs_pull").outcome(), v1::PULL_OUTCOME_NO_NEW_DATA);
}

TEST_F(SourcePgTest, SqlSourceWithATimestampWatermarkStartsAfterTheInitialWatermark) {
  CreateDataset("events");
  MLOPS_ASSERT_OK(InsertRows(1, 6));  // ts = 1 s .. 6 s after the epoch
  v1::Source s = PgSource("events_pull", "events");
  s.mutable_postgres_query()->set_watermark_column("ts");
  s.mutable_postgres_query()->mutable_initial_watermark()->set_timestamp_micros(3'000'000);
  v1::Source created;
  ASSERT_TRUE(CreateSource(s, &created).ok());
  EXPECT_EQ(created.watermark().timestamp_micros(), 3'000'000);
  v1::SourcePullResult r = Pull("events_pull");
  ASSERT_EQ(r.outcome(), v1::PULL_OUTCOME_COMMITTED) << r.error();
  EXPECT_EQ(r.version().batch_row_count(), 3);  // 4 s, 5 s, 6 s
  EXPECT_EQ(r.pull().watermark_from().timestamp_micros(), 3'000'000);
  EXPECT_EQ(r.pull().watermark_to().timestamp_micros(), 6'000'000);
  // A row 1 microsecond after the watermark is new; one at it is not.
  MLOPS_ASSERT_OK(Sql("INSERT INTO src.tx VALUES (7, 7, 'a', to_timestamp(6), ''), "
                      "(8, 8, 'b', to_timestamp(6) + interval '1 microsecond', '')"));
  r = Pull("events_pull");
  ASSERT_EQ(r.outcome(), v1::PULL_OUTCOME_COMMITTED) << r.error();
  EXPECT_EQ(r.version().batch_row_count(), 1);
  EXPECT_EQ(r.pull().watermark_to().timestamp_micros(), 6'000'001);
  EXPECT_EQ(GetSource("events_pull").watermark().timestamp_micros(), 6'000'001);
}

TEST_F(SourcePgTest, SqlSourceFailuresNameTheProblemAndStoreNothing) {
  CreateDataset("tx");
  MLOPS_ASSERT_OK(InsertRows(1, 3));
  v1::Source no_wm = PgSource("no_wm", "tx");
  no_wm.mutable_postgres_query()->set_query("SELECT id AS ident, amount, label, ts FROM src.tx");
  ASSERT_TRUE(CreateSource(no_wm).ok());
  v1::SourcePullResult r = Pull("no_wm");
  EXPECT_EQ(r.outcome(), v1::PULL_OUTCOME_FAILED);
  EXPECT_THAT(r.error(), HasSubstr("watermark_column \"id\": not a column of the query result"));

  v1::Source bad_type = PgSource("bad_type", "tx");
  bad_type.mutable_postgres_query()->set_query(
      "SELECT id, amount::numeric AS amount, label, ts FROM src.tx");
  ASSERT_TRUE(CreateSource(bad_type).ok());
  r = Pull("bad_type");
  EXPECT_EQ(r.outcome(), v1::PULL_OUTCOME_FAILED);
  EXPECT_THAT(r.error(), HasSubstr("column \"amount\""));

  // A NULL in a non-nullable column fails naming the row and column.
  v1::Source nulls = PgSource("nulls", "tx");
  nulls.mutable_postgres_query()->set_query(
      "SELECT id, CASE WHEN id = 2 THEN NULL ELSE amount END AS amount, label, ts FROM src.tx");
  ASSERT_TRUE(CreateSource(nulls).ok());
  r = Pull("nulls");
  EXPECT_EQ(r.outcome(), v1::PULL_OUTCOME_FAILED);
  EXPECT_THAT(r.error(), HasSubstr("row 1, column \"amount\""));

  v1::Source refused = PgSource("refused", "tx");
  refused.mutable_postgres_query()->set_dsn("postgresql://nobody@127.0.0.1:1/none");
  ASSERT_TRUE(CreateSource(refused).ok());
  r = Pull("refused");
  EXPECT_EQ(r.outcome(), v1::PULL_OUTCOME_FAILED);
  EXPECT_FALSE(r.error().empty());

  EXPECT_EQ(VersionCount("tx"), 0);
  EXPECT_FALSE(GetSource("nulls").has_watermark());
}

TEST_F(SourcePgTest, CsvFolderTakesEachFileOnceInNameOrder) {
  CreateDataset("files");
  WriteFile(dir_, "a.csv", "id,amount,label,ts\n1,1.5,x,2024-01-01T00:00:00Z\n2,2.5,,2024-01-01T00:00:01Z\n");
  // Another column order: columns are matched by name.
  WriteFile(dir_, "b.csv", "ts,id,label,amount\n2024-01-02T00:00:00Z,3,y,3.5\n");
  WriteFile(dir_, "notes.txt", "not csv");
  ASSERT_TRUE(CreateSource(CsvSource("drop", "files", dir_)).ok());

  v1::SourcePullResult a = Pull("drop");
  ASSERT_EQ(a.outcome(), v1::PULL_OUTCOME_COMMITTED) << a.error();
  EXPECT_EQ(a.version().pull().file(), "a.csv");
  EXPECT_EQ(a.version().pull().file_sha256().size(), 64u);
  EXPECT_EQ(a.version().batch_row_count(), 2);
  ASSERT_EQ(a.version().lineage().inputs_size(), 1);
  EXPECT_EQ(a.version().lineage().inputs(0).id(),
            "file://" + dir_ + "/a.csv#sha256=" + a.version().pull().file_sha256());
  v1::SourcePullResult b = Pull("drop");
  ASSERT_EQ(b.outcome(), v1::PULL_OUTCOME_COMMITTED) << b.error();
  EXPECT_EQ(b.version().pull().file(), "b.csv");
  EXPECT_EQ(b.version().row_count(), 3);
  EXPECT_EQ(Pull("drop").outcome(), v1::PULL_OUTCOME_NO_NEW_DATA);

  WriteFile(dir_, "c.csv", "id,amount,label,ts\n4,4.5,z,2024-01-03T00:00:00Z\n");
  v1::SourcePullResult c = Pull("drop");
  ASSERT_EQ(c.outcome(), v1::PULL_OUTCOME_COMMITTED) << c.error();
  EXPECT_EQ(c.version().pull().file(), "c.csv");
  EXPECT_EQ(c.version().row_count(), 4);
  // Touching a taken file (same bytes) does not make it new.
  WriteFile(dir_, "a.csv", "id,amount,label,ts\n1,1.5,x,2024-01-01T00:00:00Z\n2,2.5,,2024-01-01T00:00:01Z\n");
  EXPECT_EQ(Pull("drop").outcome(), v1::PULL_OUTCOME_NO_NEW_DATA);
  EXPECT_EQ(VersionCount("files"), 3);
  EXPECT_EQ(GetSource("drop").committed_pull_count(), 3);
}

TEST_F(SourcePgTest, CsvFolderBadFileFailsNamingFileAndLineAndIsRetried) {
  CreateDataset("files");
  WriteFile(dir_, "bad.csv", "id,amount,label,ts\n1,1.5,x,2024-01-01T00:00:00Z\n2,abc,y,2024-01-01T00:00:00Z\n");
  ASSERT_TRUE(CreateSource(CsvSource("drop", "files", dir_)).ok());
  v1::SourcePullResult r = Pull("drop");
  EXPECT_EQ(r.outcome(), v1::PULL_OUTCOME_FAILED);
  EXPECT_EQ(r.error(), "bad.csv 3:3: column \"amount\": \"abc\" is not a double");
  EXPECT_EQ(r.pull().file(), "bad.csv");
  EXPECT_EQ(VersionCount("files"), 0);
  // Header mismatch names the missing column.
  WriteFile(dir_, "bad.csv", "id,amount,ts\n1,1.5,2024-01-01T00:00:00Z\n");
  r = Pull("drop");
  EXPECT_EQ(r.outcome(), v1::PULL_OUTCOME_FAILED);
  EXPECT_THAT(r.error(), HasSubstr("missing: \"label\""));
  // Fixed: taken.
  WriteFile(dir_, "bad.csv", "id,amount,label,ts\n1,1.5,x,2024-01-01T00:00:00Z\n");
  EXPECT_EQ(Pull("drop").outcome(), v1::PULL_OUTCOME_COMMITTED);
}

TEST_F(SourcePgTest, ScheduleFiresAndResumesAfterARestart) {
  CreateDataset("tx");
  MLOPS_ASSERT_OK(InsertRows(1, 2));
  v1::Source s = PgSource("sched", "tx");
  s.set_interval_micros(1'000'000);
  v1::Source created;
  ASSERT_TRUE(CreateSource(s, &created).ok());
  EXPECT_GT(created.next_pull_at_micros(), 0);
  auto wait_for_commits = [&](int64_t n) {
    // Bounded wait: at most 15 s.
    for (int i = 0; i < 150; ++i) {
      if (GetSource("sched").committed_pull_count() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  {
    SourceScheduler scheduler(puller_.get(), {absl::Milliseconds(100), 4});
    scheduler.Start();
    ASSERT_TRUE(wait_for_commits(1));
    MLOPS_ASSERT_OK(InsertRows(3, 4));
    ASSERT_TRUE(wait_for_commits(2));
    scheduler.Stop();
  }
  // A "restart": a new puller and scheduler over the same database.
  SourcePuller puller(ingestion_.get(), source_store_.get());
  MLOPS_ASSERT_OK(InsertRows(5, 5));
  SourceScheduler scheduler(&puller, {absl::Milliseconds(100), 4});
  scheduler.Start();
  ASSERT_TRUE(wait_for_commits(3));
  scheduler.Stop();
  v1::Source state = GetSource("sched");
  EXPECT_EQ(state.watermark().int64_value(), 5);
  EXPECT_EQ(state.last_pull().outcome(), v1::PULL_OUTCOME_COMMITTED);
  EXPECT_GT(state.next_pull_at_micros(), state.last_pull().finished_at_micros());
  EXPECT_EQ(VersionCount("tx"), 3);
}

TEST_F(SourcePgTest, BadInputGetsExactCodes) {
  CreateDataset("tx");
  v1::Source s = PgSource("Bad-Name", "tx");
  grpc::Status st = CreateSource(s);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("source name"));
  EXPECT_EQ(CreateSource(PgSource("p", "nope")).error_code(), grpc::StatusCode::NOT_FOUND);
  s = PgSource("p", "tx");
  s.mutable_postgres_query()->set_query("");
  st = CreateSource(s);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("source.postgres_query.query"));
  st = CreateSource(CsvSource("c", "tx", dir_ + "/missing"));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("source.csv_folder.path"));
  EXPECT_EQ(CreateSource(PgSource("p", "tx"), nullptr, kViewerToken).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  s = PgSource("p", "tx");
  s.mutable_postgres_query()->set_dsn("postgresql://u:hunter2@127.0.0.1:1/db");
  ASSERT_TRUE(CreateSource(s).ok());
  EXPECT_EQ(CreateSource(s).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(GetSource("p").postgres_query().dsn(), "postgresql://u:***@127.0.0.1:1/db");

  grpc::Status pull_status;
  Pull("nope", &pull_status);
  EXPECT_EQ(pull_status.error_code(), grpc::StatusCode::NOT_FOUND);
  Pull("Bad;drop", &pull_status);
  EXPECT_EQ(pull_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext ctx;
  Auth(&ctx);
  v1::ListSourcesRequest req;
  req.set_dataset("nope");
  v1::ListSourcesResponse resp;
  EXPECT_EQ(stub_->ListSources(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace mlops::ingestion
