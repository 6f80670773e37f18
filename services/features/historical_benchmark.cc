// Historical retrieval through the whole RPC (a binary that prints figures;
// not a test). Needs MLOPS_TEST_PG_DSN (a scratch database is created and
// dropped).
//
//   features_historical_benchmark [events=1000000] [entities=100000] [rows=200000]
//
// Ingests `events` rows (id INT64, ts, f0..f9 DOUBLE; uniform over 30 days
// and the entities) and `rows` query rows (id, ts) into the real ingestion
// service, registers one view of 10 raw features with a 1-day TTL, then runs
// GetHistoricalFeatures with the query dataset as input, twice: cold (events
// read from ingestion and the event table built) and warm (table cached).
// Prints times, rows/s and the process's peak RSS.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "services/features/testing/bench_util.h"
#include "services/features/testing/service_fixture.h"
#include "services/features/testing/splitmix.h"

namespace mlops::features::testing {
namespace {

constexpr int64_t kDay = 24 * kHour;

class Bench : public ServiceHarness {
 public:
  int Run(const std::string& dsn, int64_t events, int64_t entities, int64_t rows) {
    absl::Status started = StartHarness(dsn);
    if (!started.ok()) return BenchFail(started);
    cv1::Schema schema;
    AddColumn(&schema, "id", cv1::DATA_TYPE_INT64, false, cv1::COLUMN_ROLE_ENTITY_KEY);
    AddColumn(&schema, "ts", cv1::DATA_TYPE_TIMESTAMP, false, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
    const char* names[] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"};
    for (const char* n : names) {
      AddColumn(&schema, n, cv1::DATA_TYPE_DOUBLE, false, cv1::COLUMN_ROLE_FEATURE);
    }
    cv1::Schema qschema;
    AddColumn(&qschema, "id", cv1::DATA_TYPE_INT64, false, cv1::COLUMN_ROLE_ENTITY_KEY);
    AddColumn(&qschema, "ts", cv1::DATA_TYPE_TIMESTAMP, false, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
    if (!CreateDataset("events", schema).ok() || !CreateDataset("queries", qschema).ok()) {
      return BenchFail(absl::InternalError("CreateDataset failed"));
    }
    Rng rng(7);
    auto start = std::chrono::steady_clock::now();
    for (int64_t done = 0; done < events;) {
      std::vector<cv1::Row> batch;
      for (; done < events && batch.size() < 250000; ++done) {
        cv1::Row r = MakeRow({I(static_cast<int64_t>(rng.Next() % entities)),
                              T(kT0 + static_cast<int64_t>(rng.Next() % (30 * kDay)))});
        for (int f = 0; f < 10; ++f) *r.add_values() = D(static_cast<double>(rng.Next() % 1000000) / 3);
        batch.push_back(std::move(r));
      }
      absl::StatusOr<std::string> v = IngestRows("events", batch);
      if (!v.ok()) return BenchFail(v.status());
    }
    std::vector<cv1::Row> queries;
    for (int64_t i = 0; i < rows; ++i) {
      queries.push_back(MakeRow({I(static_cast<int64_t>(rng.Next() % entities)),
                                 T(kT0 + static_cast<int64_t>(rng.Next() % (30 * kDay)))}));
    }
    absl::StatusOr<std::string> qv = IngestRows("queries", queries);
    if (!qv.ok()) return BenchFail(qv.status());
    std::printf("ingested %lld events and %lld query rows in %.1f s (setup, not measured)\n",
                static_cast<long long>(events), static_cast<long long>(rows), Seconds(start));
    fv1::FeatureViewSpec spec;
    spec.set_name("raw10");
    spec.set_source_dataset("events");
    spec.set_entity_key_column("id");
    spec.set_ttl_micros(kDay);
    for (const char* n : names) {
      auto* f = spec.add_features();
      f->set_name(n);
      f->mutable_raw()->set_column(n);
    }
    fv1::RegisterFeatureViewResponse r;
    grpc::Status reg = Register(spec, &r);
    if (!reg.ok()) return BenchFail(FromGrpcStatus(reg));
    for (const char* pass : {"cold (read events + build table)", "warm (table cached)"}) {
      fv1::GetHistoricalFeaturesRequest req;
      req.mutable_dataset()->set_dataset("queries");
      req.add_feature_refs("raw10:*");
      req.set_chunk_rows(16384);
      grpc::ClientContext ctx;
      Auth(&ctx, kViewerToken);
      start = std::chrono::steady_clock::now();
      auto reader = stub_->GetHistoricalFeatures(&ctx, req);
      fv1::GetHistoricalFeaturesResponse msg;
      int64_t got = 0, present = 0;
      while (reader->Read(&msg)) {
        for (const cv1::Row& row : msg.chunk().rows()) {
          ++got;
          present += row.values(2).kind_case() != 0 ? 1 : 0;
        }
      }
      grpc::Status s = reader->Finish();
      if (!s.ok()) return BenchFail(FromGrpcStatus(s));
      const double secs = Seconds(start);
      std::printf("%s: %lld rows x 10 features in %.2f s (%.0f rows/s), %.1f%% present\n", pass,
                  static_cast<long long>(got), secs, static_cast<double>(got) / secs,
                  100.0 * static_cast<double>(present) / static_cast<double>(got));
    }
    std::printf("peak RSS (whole process: ingestion + features + client):%s\n", PeakRss().c_str());
    StopHarness();
    return 0;
  }
};

}  // namespace
}  // namespace mlops::features::testing

int main(int argc, char** argv) {
  const int64_t events = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const int64_t entities = argc > 2 ? std::atoll(argv[2]) : 100000;
  const int64_t rows = argc > 3 ? std::atoll(argv[3]) : 200000;
  return mlops::features::testing::WithScratchDatabase(
      "features_bench", [&](const std::string& dsn) {
        mlops::features::testing::Bench bench;
        return bench.Run(dsn, events, entities, rows);
      });
}
