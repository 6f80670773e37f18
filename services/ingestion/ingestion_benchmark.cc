// ingestion_benchmark: end-to-end ingest throughput (not a test).
//
//   MLOPS_TEST_PG_DSN=... ingestion_benchmark [rows=1000000]
//
// Creates a scratch database, starts the ingestion service on 127.0.0.1
// (auth disabled), streams `rows` rows x 20 columns through IngestBatch in
// chunks of 2000 rows, then loads the same rows as CSV with `psql \copy` into
// a plain 20-column table, and prints both rates and their ratio.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <unistd.h>
#include <vector>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/auth/authorizer.h"
#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "grpcpp/grpcpp.h"
#include "mlops_migrations/ingestion_migrations.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/ingestion_service.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/pg_ingestion_store.h"

namespace {

namespace cv1 = mlops::common::v1;
namespace v1 = mlops::ingestion::v1;

constexpr int kChunkRows = 2000;

// 20 columns: id, 10 doubles, 5 strings, 2 bools, 1 int64, 1 timestamp.
cv1::Schema BenchSchema() {
  cv1::Schema s;
  auto add = [&](std::string name, cv1::DataType t) {
    auto* c = s.add_columns();
    c->set_name(std::move(name));
    c->set_type(t);
  };
  add("id", cv1::DATA_TYPE_INT64);
  for (int i = 0; i < 10; ++i) add(absl::StrCat("d", i), cv1::DATA_TYPE_DOUBLE);
  for (int i = 0; i < 5; ++i) add(absl::StrCat("s", i), cv1::DATA_TYPE_STRING);
  add("b0", cv1::DATA_TYPE_BOOL);
  add("b1", cv1::DATA_TYPE_BOOL);
  add("n", cv1::DATA_TYPE_INT64);
  add("ts", cv1::DATA_TYPE_TIMESTAMP);
  return s;
}

void FillRow(int64_t i, cv1::Row* r, std::string* csv) {
  r->Clear();
  r->add_values()->set_int64_value(i);
  absl::StrAppend(csv, i);
  for (int k = 0; k < 10; ++k) {
    double d = static_cast<double>((i * 31 + k * 7) % 10007) / 7.0;
    r->add_values()->set_double_value(d);
    absl::StrAppend(csv, ",", d);
  }
  for (int k = 0; k < 5; ++k) {
    std::string s = absl::StrCat("v", (i + k) % 997);
    absl::StrAppend(csv, ",", s);
    r->add_values()->set_string_value(std::move(s));
  }
  r->add_values()->set_bool_value(i % 2 == 0);
  r->add_values()->set_bool_value(i % 3 == 0);
  absl::StrAppend(csv, ",", i % 2 == 0 ? "t" : "f", ",", i % 3 == 0 ? "t" : "f");
  r->add_values()->set_int64_value(i * 3);
  int64_t ts = 1'700'000'000'000'000 + i;
  r->add_values()->set_timestamp_micros(ts);
  absl::StrAppend(csv, ",", i * 3, ",", ts, "\n");
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  std::optional<std::string> admin = mlops::TestPgDsnFromEnv();
  if (!admin) {
    std::fprintf(stderr, "set MLOPS_TEST_PG_DSN\n");
    return 2;
  }
  auto db = mlops::PgTestDatabase::Create(*admin, "ingestion_bench");
  if (!db.ok()) {
    std::fprintf(stderr, "%s\n", db.status().ToString().c_str());
    return 1;
  }
  mlops::PgPoolOptions opts;
  opts.dsn = (*db)->dsn();
  opts.search_path = "ingestion";
  auto pool = mlops::PgPool::Create(opts);
  if (!pool.ok()) return 1;
  auto migrated = mlops::RunMigrations(**pool, "ingestion", mlops::ingestion::EmbeddedMigrations());
  if (!migrated.ok()) {
    std::fprintf(stderr, "%s\n", migrated.status().ToString().c_str());
    return 1;
  }
  mlops::ingestion::PgIngestionStore store(pool->get());
  mlops::ingestion::IngestionMetrics metrics(nullptr);
  mlops::ingestion::Ingestion ingestion(&store, &metrics);
  mlops::Authorizer auth = mlops::Authorizer::Disabled();
  mlops::ingestion::IngestionServiceImpl service(&ingestion, &auth);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(16 << 20);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::IngestionService::NewStub(channel);
  {
    grpc::ClientContext ctx;
    v1::CreateDatasetRequest req;
    req.set_name("bench");
    *req.mutable_schema() = BenchSchema();
    v1::Dataset d;
    grpc::Status s = stub->CreateDataset(&ctx, req, &d);
    if (!s.ok()) {
      std::fprintf(stderr, "CreateDataset: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  // Build the CSV and the chunks up front so that generation is not timed.
  std::string csv;
  std::vector<v1::IngestBatchRequest> chunks;
  cv1::Row row;
  for (int64_t i = 0; i < rows; i += kChunkRows) {
    v1::IngestBatchRequest msg;
    for (int64_t j = i; j < rows && j < i + kChunkRows; ++j) {
      FillRow(j, &row, &csv);
      *msg.mutable_chunk()->add_rows() = row;
    }
    chunks.push_back(std::move(msg));
  }
  auto start = std::chrono::steady_clock::now();
  grpc::ClientContext ctx;
  v1::IngestBatchResponse resp;
  auto writer = stub->IngestBatch(&ctx, &resp);
  v1::IngestBatchRequest header;
  header.mutable_header()->set_dataset("bench");
  writer->Write(header);
  for (const auto& c : chunks) writer->Write(c);
  v1::IngestBatchRequest end;
  end.mutable_end()->set_row_count(rows);
  writer->Write(end);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  double grpc_s = Seconds(start);
  if (!s.ok() || resp.outcome() != v1::INGEST_OUTCOME_COMMITTED) {
    std::fprintf(stderr, "IngestBatch: %s\n", s.error_message().c_str());
    return 1;
  }
  // psql \copy of the same rows.
  std::string path = absl::StrCat("/tmp/ingestion_bench_", getpid(), ".csv");
  std::ofstream(path) << csv;
  std::string table =
      "CREATE TABLE public.bench (id bigint, d0 float8, d1 float8, d2 float8, d3 float8, "
      "d4 float8, d5 float8, d6 float8, d7 float8, d8 float8, d9 float8, s0 text, s1 text, "
      "s2 text, s3 text, s4 text, b0 bool, b1 bool, n bigint, ts bigint)";
  std::string psql = absl::StrCat("psql -q \"", (*db)->dsn(), "\" -v ON_ERROR_STOP=1");
  if (std::system(absl::StrCat(psql, " -c \"", table, "\"").c_str()) != 0) return 1;
  start = std::chrono::steady_clock::now();
  int rc = std::system(
      absl::StrCat(psql, " -c \"\\copy public.bench FROM '", path, "' CSV\"").c_str());
  double copy_s = Seconds(start);
  std::remove(path.c_str());
  if (rc != 0) return 1;
  std::printf("rows=%lld columns=20 chunk_rows=%d\n", static_cast<long long>(rows), kChunkRows);
  std::printf("IngestBatch over gRPC (loopback): %.2f s, %.0f rows/s, version %s\n", grpc_s,
              static_cast<double>(rows) / grpc_s, resp.version().id().c_str());
  std::printf("psql \\copy CSV:                   %.2f s, %.0f rows/s\n", copy_s,
              static_cast<double>(rows) / copy_s);
  std::printf("ratio (IngestBatch time / \\copy time): %.2f\n", grpc_s / copy_s);
  server->Shutdown();
  return 0;
}
