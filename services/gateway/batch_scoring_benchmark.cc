// batch_scoring_benchmark: rows/s of a batch scoring job end to end (read the
// input version from the ingestion service, score with a 100-tree depth-6
// XGBoost model on 30 features, write the scores as a new version), next to
// reading the same version alone in the same run. The ingestion service runs
// in process over loopback gRPC on a fresh database of the cluster in
// MLOPS_TEST_PG_DSN; the registry is the loopback fake. Bounded by the row
// count; not a test.
//
//   MLOPS_TEST_PG_DSN=... batch_scoring_benchmark [--rows N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/auth/authorizer.h"
#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "mlops_migrations/gateway_migrations.h"
#include "mlops_migrations/ingestion_migrations.h"
#include "services/gateway/batch_scoring.h"
#include "services/gateway/pg_batch_job_store.h"
#include "services/gateway/registry_client.h"
#include "services/gateway/testing/fake_peers.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/ingestion_service.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/pg_ingestion_store.h"

namespace mlops::gateway {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace inv1 = ::mlops::ingestion::v1;

constexpr int kCols = 30;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<PgPool> Pool(const std::string& dsn, const std::string& schema,
                             const std::vector<Migration>& migrations) {
  PgPoolOptions o;
  o.dsn = dsn;
  o.search_path = schema;
  o.size = 4;
  absl::StatusOr<std::unique_ptr<PgPool>> pool = PgPool::Create(o);
  if (!pool.ok() || !RunMigrations(**pool, schema, migrations).ok()) return nullptr;
  return std::move(*pool);
}

// Ingests `rows` rows (customer_id, f0..f29) in batches of 50,000; the head version id.
std::string Ingest(inv1::IngestionService::Stub* stub, int64_t rows) {
  inv1::CreateDatasetRequest create;
  create.set_name("bench_input");
  cv1::Column* key = create.mutable_schema()->add_columns();
  key->set_name("customer_id");
  key->set_type(cv1::DATA_TYPE_INT64);
  key->set_role(cv1::COLUMN_ROLE_ENTITY_KEY);
  for (int c = 0; c < kCols; ++c) {
    cv1::Column* col = create.mutable_schema()->add_columns();
    col->set_name(absl::StrCat("f", c));
    col->set_type(cv1::DATA_TYPE_DOUBLE);
  }
  inv1::Dataset d;
  grpc::ClientContext create_ctx;
  if (!stub->CreateDataset(&create_ctx, create, &d).ok()) return "";
  std::string head;
  for (int64_t first = 0; first < rows; first += 50'000) {
    const int64_t n = std::min<int64_t>(50'000, rows - first);
    grpc::ClientContext ctx;
    inv1::IngestBatchResponse resp;
    auto writer = stub->IngestBatch(&ctx, &resp);
    inv1::IngestBatchRequest msg;
    msg.mutable_header()->set_dataset("bench_input");
    writer->Write(msg);
    for (int64_t r = first; r < first + n; r += 5000) {
      msg.Clear();
      for (int64_t i = r; i < std::min(first + n, r + 5000); ++i) {
        cv1::Row* row = msg.mutable_chunk()->add_rows();
        row->add_values()->set_int64_value(i);
        for (int c = 0; c < kCols; ++c) row->add_values()->set_double_value(((i * 7 + c * 13) % 101) / 100.0);
      }
      writer->Write(msg);
    }
    msg.Clear();
    msg.mutable_end()->set_row_count(n);
    writer->Write(msg);
    writer->WritesDone();
    if (!writer->Finish().ok()) return "";
    head = resp.version().id();
  }
  return head;
}

int Main(int argc, char** argv) {
  int64_t rows = 200'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rows") == 0) rows = std::atol(argv[i + 1]);
  }
  std::optional<std::string> admin = TestPgDsnFromEnv();
  if (!admin) {
    std::fprintf(stderr, "set MLOPS_TEST_PG_DSN (scripts/pg.sh dsn DIR)\n");
    return 2;
  }
  absl::StatusOr<std::unique_ptr<PgTestDatabase>> db = PgTestDatabase::Create(*admin, "batch_bench");
  if (!db.ok()) return 1;
  std::unique_ptr<PgPool> gateway_pool = Pool((*db)->dsn(), "gateway", EmbeddedMigrations());
  std::unique_ptr<PgPool> ingestion_pool = Pool((*db)->dsn(), "ingestion", ingestion::EmbeddedMigrations());
  if (!gateway_pool || !ingestion_pool) return 1;
  Authorizer authorizer = Authorizer::Disabled();
  ingestion::PgIngestionStore ingestion_store(ingestion_pool.get());
  ingestion::IngestionMetrics ingestion_metrics(nullptr);
  ingestion::Ingestion ingestion(&ingestion_store, &ingestion_metrics);
  ingestion::IngestionServiceImpl ingestion_service(&ingestion, &authorizer);
  absl::StatusOr<std::string> model = testing::TrainTestModel(kCols, 100, 6, 1);
  testing::FakeRegistry registry;
  if (!model.ok()) return 1;
  registry.AddVersion("bench", 1, *model, testing::TestSignature(kCols), true);
  auto registry_server = testing::LoopbackServer::Start({&registry}, "registry");
  auto ingestion_server = testing::LoopbackServer::Start({&ingestion_service}, "ingestion");
  if (!registry_server.ok() || !ingestion_server.ok()) return 1;
  auto stub = inv1::IngestionService::NewStub((*ingestion_server)->peer()->channel());
  const std::string input = Ingest(stub.get(), rows);
  if (input.empty()) return 1;

  IngestionClient client((*ingestion_server)->peer());
  const auto t0 = std::chrono::steady_clock::now();
  int64_t read_rows = 0;
  absl::Status read = client.Read(
      input, {}, [](const inv1::ReadHeader&) { return absl::OkStatus(); },
      [&](const inv1::ReadChunk& c) {
        read_rows += c.rows_size();
        return absl::OkStatus();
      });
  const double read_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  RegistryClient registry_client((*registry_server)->peer(), "bench",
                                 registry::v1::ARTIFACT_READ_PURPOSE_BATCH_SCORING);
  XgbModelLoader loader;
  ModelCache models(&registry_client, &loader, 2, NowMicros);
  PgBatchJobStore jobs(gateway_pool.get());
  BatchScoringOptions bo;
  bo.runner.now_micros = NowMicros;
  bo.new_job_id = [] { return std::string("bsj-00000000000000be"); };
  BatchScoring batch(&models, &registry_client, &client, &jobs, bo);
  BatchJobSpec spec;
  spec.model = "bench";
  spec.version = 1;
  spec.input_dataset_version = input;
  spec.output_dataset = "bench_scores";
  absl::StatusOr<BatchJob> job = batch.Submit(spec, "bench");
  if (!job.ok()) {
    std::fprintf(stderr, "submit: %s\n", job.status().ToString().c_str());
    return 1;
  }
  batch.Drain();
  job = batch.Get(job->job_id);
  if (!job.ok() || job->state != BatchState::kSucceeded) {
    std::fprintf(stderr, "job: %s\n", job.ok() ? job->error.c_str() : job.status().ToString().c_str());
    return 1;
  }
  std::printf("batch_scoring_benchmark: %lld rows x %d features, 100 trees depth 6\n",
              static_cast<long long>(rows), kCols);
  std::printf("%-44s %10.0f rows/s  (%lld rows, %s)\n", "ReadDatasetVersion alone (all 31 columns)",
              static_cast<double>(read_rows) / read_s, static_cast<long long>(read_rows),
              read.ok() ? "ok" : read.ToString().c_str());
  std::printf("%-44s %10.0f rows/s  (%lld rows, %.2f s, output %s)\n",
              "batch scoring job (read + score + write)", job->rows_per_second,
              static_cast<long long>(job->rows_scored),
              static_cast<double>(job->finished_at_micros - job->started_at_micros) / 1e6,
              job->output_dataset_version.substr(0, 12).c_str());
  batch.Stop();
  return 0;
}

}  // namespace
}  // namespace mlops::gateway

int main(int argc, char** argv) { return mlops::gateway::Main(argc, argv); }
