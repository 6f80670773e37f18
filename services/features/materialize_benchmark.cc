// FULL vs INCREMENTAL materialization through the whole RPC (a binary that
// prints figures; not a test). Needs MLOPS_TEST_PG_DSN (a scratch database
// is created and dropped).
//
//   features_materialize_benchmark [events=1000000] [entities=100000]
//                                  [append=100000] [appends=3]
//
// Ingests `events` rows (id INT64, ts over 30 days, amount DOUBLE, n INT64)
// into the real ingestion service, registers a view of 2 raw features
// (TTL 1 day) and 6 windowed aggregations (1 h to 7 days), materializes FULL,
// then `appends` times: appends `append` rows (90% in the last hour, 10%
// late: anywhere in the 30 days; 10% of them new entities) and materializes
// INCREMENTAL as of one hour later, timing the RPC and the lag (the real
// time from the version's commit to the online store updated, the run
// started right after the commit); the last append comes after a restart
// of the feature service (the state is rebuilt). Finally a FULL run over the last version
// as of the same time (its table is not cached: it reads every row, as a
// FULL run after a new version does) and a check that the online values of
// sampled entities are equal.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "services/features/testing/bench_util.h"
#include "services/features/testing/online_fixture.h"
#include "services/features/testing/splitmix.h"

namespace mlops::features::testing {
namespace {

constexpr int64_t kDay = 24 * kHour;

class Bench : public ServiceHarness {
 public:
  int Run(const std::string& dsn, int64_t events, int64_t entities, int64_t append,
          int appends) {
    absl::Status started = StartHarness(dsn);
    if (!started.ok()) return BenchFail(started);
    cv1::Schema schema;
    AddColumn(&schema, "id", cv1::DATA_TYPE_INT64, false, cv1::COLUMN_ROLE_ENTITY_KEY);
    AddColumn(&schema, "ts", cv1::DATA_TYPE_TIMESTAMP, false, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
    AddColumn(&schema, "amount", cv1::DATA_TYPE_DOUBLE, false, cv1::COLUMN_ROLE_FEATURE);
    AddColumn(&schema, "n", cv1::DATA_TYPE_INT64, true, cv1::COLUMN_ROLE_FEATURE);
    if (!CreateDataset("tx", schema).ok()) return BenchFail(absl::InternalError("CreateDataset"));
    Rng rng(11);
    int64_t end_time = kT0 + 30 * kDay;
    auto row = [&](int64_t id, int64_t t) {
      return MakeRow({I(id), T(t), D(static_cast<double>(rng.Next() % 1000000) / 7),
                      rng.Next() % 10 == 0 ? Null() : I(static_cast<int64_t>(rng.Next() % 100))});
    };
    auto start = std::chrono::steady_clock::now();
    for (int64_t done = 0; done < events;) {
      std::vector<cv1::Row> batch;
      for (; done < events && batch.size() < 250000; ++done) {
        batch.push_back(row(static_cast<int64_t>(rng.Next() % entities),
                            kT0 + static_cast<int64_t>(rng.Next() % (30 * kDay))));
      }
      absl::StatusOr<std::string> v = IngestRows("tx", batch);
      if (!v.ok()) return BenchFail(v.status());
    }
    std::printf("ingested %lld events over %lld entities in %.1f s (setup)\n",
                static_cast<long long>(events), static_cast<long long>(entities), Seconds(start));
    fv1::FeatureViewSpec spec;
    spec.set_name("spend");
    spec.set_source_dataset("tx");
    spec.set_entity_key_column("id");
    spec.set_ttl_micros(kDay);
    spec.set_materialization(fv1::MATERIALIZATION_POLICY_MANUAL);
    *spec.add_features() = Raw("amount", "amount");
    *spec.add_features() = Raw("n", "n");
    *spec.add_features() = Agg("events_1h", fv1::AGGREGATION_FUNCTION_COUNT, "", kHour);
    *spec.add_features() = Agg("sum_1d", fv1::AGGREGATION_FUNCTION_SUM, "amount", kDay);
    *spec.add_features() = Agg("mean_7d", fv1::AGGREGATION_FUNCTION_MEAN, "amount", 7 * kDay);
    *spec.add_features() = Agg("std_7d", fv1::AGGREGATION_FUNCTION_STDDEV, "amount", 7 * kDay);
    *spec.add_features() = Agg("max_1d", fv1::AGGREGATION_FUNCTION_MAX, "n", kDay);
    *spec.add_features() = Agg("last_n_1d", fv1::AGGREGATION_FUNCTION_LAST, "n", kDay);
    fv1::RegisterFeatureViewResponse r;
    grpc::Status reg = Register(spec, &r);
    if (!reg.ok()) return BenchFail(FromGrpcStatus(reg));

    fv1::MaterializationRun run;
    start = std::chrono::steady_clock::now();
    if (!Materialize(end_time, fv1::MATERIALIZATION_MODE_FULL, &run)) return 1;
    std::printf("FULL  v1: %lld rows read, %lld entities, %.2f s\n",
                static_cast<long long>(run.rows_read()),
                static_cast<long long>(run.entities_written()), Seconds(start));
    for (int a = 0; a < appends; ++a) {
      std::vector<cv1::Row> batch;
      for (int64_t i = 0; i < append; ++i) {
        const bool late = rng.Next() % 10 == 0;
        const bool fresh = rng.Next() % 10 == 0;
        const int64_t id = fresh ? entities + static_cast<int64_t>(rng.Next() % entities)
                                 : static_cast<int64_t>(rng.Next() % entities);
        const int64_t t = late ? kT0 + static_cast<int64_t>(rng.Next() % (30 * kDay))
                               : end_time - static_cast<int64_t>(rng.Next() % kHour);
        batch.push_back(row(id, t));
      }
      absl::StatusOr<std::string> v = IngestRows("tx", batch);
      if (!v.ok()) return BenchFail(v.status());
      const int64_t created = VersionCreated(*v);
      // The last append after a restart: the state is rebuilt from the
      // online store and the base version.
      const bool restarted = appends > 1 && a == appends - 1;
      if (restarted) {
        absl::Status s = StartFeatures();
        if (!s.ok()) return BenchFail(s);
      }
      end_time += kHour;
      start = std::chrono::steady_clock::now();
      if (!Materialize(end_time, fv1::MATERIALIZATION_MODE_INCREMENTAL, &run)) return 1;
      const double secs = Seconds(start);
      const double lag =
          static_cast<double>(absl::ToUnixMicros(absl::Now()) - created) / 1e6;
      std::printf("%s append %d%s: %lld rows read, %lld entities, %.3f s, lag %.3f s\n",
                  run.mode() == fv1::MATERIALIZATION_MODE_INCREMENTAL ? "INCREMENTAL" : "FULL",
                  a + 1, restarted ? " (after a restart)" : "",
                  static_cast<long long>(run.rows_read()),
                  static_cast<long long>(run.entities_written()), secs, lag);
    }
    const std::string incremental = Sample(entities);
    start = std::chrono::steady_clock::now();
    if (!Materialize(end_time, fv1::MATERIALIZATION_MODE_FULL, &run)) return 1;
    std::printf("FULL  last version (not cached): %lld rows read, %lld entities, %.2f s\n",
                static_cast<long long>(run.rows_read()),
                static_cast<long long>(run.entities_written()), Seconds(start));
    std::printf("online values of sampled entities after INCREMENTAL %s FULL\n",
                Sample(entities) == incremental ? "EQUAL" : "DIFFER FROM");
    std::printf("peak RSS (whole process: ingestion + features + client):%s\n", PeakRss().c_str());
    StopHarness();
    return 0;
  }

 private:
  bool Materialize(int64_t as_of, fv1::MaterializationMode mode, fv1::MaterializationRun* run) {
    fv1::MaterializeResponse resp;
    grpc::Status s = MaterializeSpend(stub_.get(), as_of, mode, &resp);
    if (!s.ok() || resp.run().state() != fv1::MATERIALIZATION_STATE_SUCCEEDED) {
      std::fprintf(stderr, "materialize failed: %s %s\n", s.error_message().c_str(),
                   resp.run().error().c_str());
      return false;
    }
    *run = resp.run();
    return true;
  }

  int64_t VersionCreated(const std::string& id) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    iv1::GetDatasetVersionRequest req;
    req.mutable_version()->set_dataset("tx");
    req.mutable_version()->set_version_id(id);
    iv1::DatasetVersion v;
    grpc::Status s = ingestion_stub_->GetDatasetVersion(&ctx, req, &v);
    return s.ok() ? v.created_at_micros() : 0;
  }

  // The online rows of 1000 entities spread over the key range.
  std::string Sample(int64_t entities) {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    fv1::GetOnlineFeaturesRequest req;
    req.add_feature_refs("spend:*");
    for (int64_t i = 0; i < 1000; ++i) *req.add_entity_rows() = MakeRow({I(i * 2 * entities / 1000)});
    fv1::GetOnlineFeaturesResponse resp;
    grpc::Status s = stub_->GetOnlineFeatures(&ctx, req, &resp);
    if (!s.ok()) return "error: " + s.error_message();
    std::string out;
    for (const auto& r : resp.rows()) out += r.SerializeAsString();
    return out;
  }

};

}  // namespace
}  // namespace mlops::features::testing

int main(int argc, char** argv) {
  const int64_t events = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const int64_t entities = argc > 2 ? std::atoll(argv[2]) : 100000;
  const int64_t append = argc > 3 ? std::atoll(argv[3]) : 100000;
  const int appends = argc > 4 ? std::atoi(argv[4]) : 3;
  return mlops::features::testing::WithScratchDatabase(
      "features_mat_bench", [&](const std::string& dsn) {
        mlops::features::testing::Bench bench;
        return bench.Run(dsn, events, entities, append, appends);
      });
}
