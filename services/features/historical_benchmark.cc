// Historical retrieval through the whole RPC, against pandas in the same run
// (a binary that prints figures; not a test). Needs MLOPS_TEST_PG_DSN (a
// scratch database is created and dropped).
//
//   features_historical_benchmark [--events=10000000] [--entities=100000]
//       [--rows=1000000] [--case=raw|full|both] [--pandas=1] [--tmp=/tmp]
//       [--ingest_batch=1000000] [--repeat=1]
//
// Ingests `events` rows (id INT64, ts, f0..f9 DOUBLE; uniform over 30 days
// and the entities, in random order) and `rows` query rows (id, ts) into
// the real ingestion service (in-process gRPC, Postgres behind it).
// raw:  one view of the 10 columns as raw features, TTL 1 day;
//       GetHistoricalFeatures with the query dataset as input, cold (events
//       read from ingestion, event table built) and warm (table cached).
//       With --pandas=1 the same data, written as arrays to a temp dir
//       (deleted after), goes through pandas merge_asof(direction=
//       "backward", by="id", tolerance=1 day) in /usr/bin/python3; its time
//       (including its sorts) and peak RSS are printed with the ratios, and
//       every output value of both passes is compared with pandas' bit for bit.
//       --repeat=N runs pandas and the warm pass N times (ingest and the
//       cold pass once: at full size ingest takes minutes).
// full: a fresh feature service instance; 5 views over the same events
//       dataset, each 2 raw features + 8 windowed aggregations (1d/7d/30d
//       count, sum, mean, min, max, stddev, last) of 4 of the columns: 50
//       features, cold and warm.
// The feature service runs in this process: the peak RSS printed per pass
// is the process's VmHWM reset just before the call, so it is the peak of
// everything the call does: the features server (input rows, event tables,
// join, output), the in-process ingestion server streaming the events to
// it, and the client reading the stream (which keeps one chunk at a time,
// parsed onto an arena: before session 10 it parsed onto one reused heap
// message, whose oneof chunk protobuf frees and rebuilds value by value on
// every Read; that malloc/free was ~1/3 of the warm raw pass's CPU).

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "google/protobuf/arena.h"
#include "services/features/testing/bench_util.h"
#include "services/features/testing/pandas_baseline.h"
#include "services/features/testing/service_fixture.h"
#include "services/features/testing/splitmix.h"

namespace mlops::features::testing {
namespace {

constexpr int64_t kDay = 24 * kHour;
constexpr int kNumColumns = 10;

double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Options {
  int64_t events = 10000000;
  int64_t entities = 100000;
  int64_t rows = 1000000;
  int64_t ingest_batch = 1000000;
  std::string which = "both";
  bool pandas = true;
  int repeat = 1;
  std::string tmp = "/tmp";
};

// One pass's figures.
struct Pass {
  double seconds = 0;
  double cpu_seconds = 0;  // the whole process (server, ingestion, client)
  int64_t rows = 0;
  int64_t present = 0;
  int64_t mismatches = 0;  // values differing from pandas (-1: not compared)
  std::string peak_rss;
};

fv1::FeatureDefinition* AddFeature(fv1::FeatureViewSpec* spec, const std::string& name) {
  fv1::FeatureDefinition* f = spec->add_features();
  f->set_name(name);
  return f;
}

void AddAggregation(fv1::FeatureViewSpec* spec, const std::string& name,
                    fv1::AggregationFunction fn, const std::string& column, int64_t window) {
  fv1::WindowedAggregation* a = AddFeature(spec, name)->mutable_aggregation();
  a->set_function(fn);
  a->set_column(column);
  a->set_window_micros(window);
}

// View `index` of the full case: columns a..d = f(2i), f(2i+1), f(2i+2), f(2i+3) mod 10.
fv1::FeatureViewSpec AggregateView(int index) {
  fv1::FeatureViewSpec spec;
  spec.set_name("agg" + std::to_string(index));
  spec.set_source_dataset("events");
  spec.set_entity_key_column("id");
  spec.set_ttl_micros(kDay);
  std::string c[4];
  for (int k = 0; k < 4; ++k) c[k] = "f" + std::to_string((2 * index + k) % kNumColumns);
  AddFeature(&spec, "a")->mutable_raw()->set_column(c[0]);
  AddFeature(&spec, "d")->mutable_raw()->set_column(c[3]);
  AddAggregation(&spec, "a_sum_1d", fv1::AGGREGATION_FUNCTION_SUM, c[0], kDay);
  AddAggregation(&spec, "a_mean_7d", fv1::AGGREGATION_FUNCTION_MEAN, c[0], 7 * kDay);
  AddAggregation(&spec, "a_count_1d", fv1::AGGREGATION_FUNCTION_COUNT, c[0], kDay);
  AddAggregation(&spec, "b_max_7d", fv1::AGGREGATION_FUNCTION_MAX, c[1], 7 * kDay);
  AddAggregation(&spec, "b_min_1d", fv1::AGGREGATION_FUNCTION_MIN, c[1], kDay);
  AddAggregation(&spec, "c_std_7d", fv1::AGGREGATION_FUNCTION_STDDEV, c[2], 7 * kDay);
  AddAggregation(&spec, "c_sum_30d", fv1::AGGREGATION_FUNCTION_SUM, c[2], 30 * kDay);
  AddAggregation(&spec, "d_last_1d", fv1::AGGREGATION_FUNCTION_LAST, c[3], kDay);
  return spec;
}

class Bench : public ServiceHarness {
 public:
  explicit Bench(Options o) : o_(std::move(o)) {}

  int Run(const std::string& dsn) {
    absl::Status started = StartHarness(dsn);
    if (!started.ok()) return BenchFail(started);
    std::printf("load before: %s", LoadAverage().c_str());
    const bool use_pandas = o_.pandas && (o_.which == "raw" || o_.which == "both");
    TempDir dir(o_.tmp);
    if (use_pandas && dir.path().empty()) return BenchFail(absl::InternalError("mkdtemp failed"));
    if (absl::Status s = IngestData(use_pandas ? dir.path() : ""); !s.ok()) return BenchFail(s);
    if (o_.which == "raw" || o_.which == "both") {
      fv1::FeatureViewSpec spec;
      spec.set_name("raw10");
      spec.set_source_dataset("events");
      spec.set_entity_key_column("id");
      spec.set_ttl_micros(kDay);
      for (int k = 0; k < kNumColumns; ++k) {
        const std::string n = "f" + std::to_string(k);
        AddFeature(&spec, n)->mutable_raw()->set_column(n);
      }
      fv1::RegisterFeatureViewResponse r;
      if (grpc::Status reg = Register(spec, &r); !reg.ok()) return BenchFail(FromGrpcStatus(reg));
      for (int rep = 0; rep < o_.repeat; ++rep) {
        if (int failed = RawRound(rep, use_pandas ? dir.path() : ""); failed != 0) return failed;
      }
    }
    if (o_.which == "full" || o_.which == "both") {
      // A fresh instance: the raw case's table is not in its cache.
      FeaturesStackOptions options;
      options.event_cache_bytes = size_t{6} << 30;
      if (absl::Status s = StartFeatures(options); !s.ok()) return BenchFail(s);
      std::vector<std::string> refs;
      for (int v = 0; v < 5; ++v) {
        fv1::RegisterFeatureViewResponse r;
        if (grpc::Status reg = Register(AggregateView(v), &r); !reg.ok()) {
          return BenchFail(FromGrpcStatus(reg));
        }
        refs.push_back("agg" + std::to_string(v) + ":*");
      }
      for (int rep = 0; rep <= o_.repeat; ++rep) {
        absl::StatusOr<Pass> pass = RunPass(refs, "");
        if (!pass.ok()) return BenchFail(pass.status());
        std::printf("[%d] ", std::max(rep - 1, 0));
        Print("full", rep == 0 ? "cold (read events + build 5 tables)" : "warm (tables cached)",
              *pass, 50);
      }
    }
    std::printf("load after: %s", LoadAverage().c_str());
    StopHarness();
    return 0;
  }

 private:
  // Pandas, then GetHistoricalFeatures cold (round 0 only) and warm.
  int RawRound(int rep, const std::string& dir) {
    PandasResult pandas;
    if (!dir.empty()) {
      const auto start = std::chrono::steady_clock::now();
      pandas = RunPandasMergeAsof(dir, kNumColumns, kDay);
      if (!pandas.ok) return BenchFail(absl::InternalError("pandas baseline failed"));
      std::printf("[%d] pandas %s merge_asof: %.2f s, %.2f s CPU (sorts + merge_asof + input "
                  "order; load %.2f s, wall %.1f s), peak RSS %.0f MB; load %s",
                  rep, pandas.version.c_str(), pandas.seconds, pandas.cpu_seconds,
                  pandas.load_seconds, Seconds(start), pandas.peak_mb, LoadAverage().c_str());
    }
    std::vector<const char*> passes = {"cold (read events + build table)", "warm (table cached)"};
    if (rep > 0) passes.erase(passes.begin());
    for (const char* name : passes) {
      absl::StatusOr<Pass> pass = RunPass({"raw10:*"}, dir);
      if (!pass.ok()) return BenchFail(pass.status());
      std::printf("[%d] ", rep);
      Print("raw", name, *pass, kNumColumns);
      if (!dir.empty()) {
        std::printf("  vs pandas: %.2fx faster (%.2fx by CPU), peak RSS %.2f of pandas', "
                    "%lld of %lld values differ\n",
                    pandas.seconds / pass->seconds, pandas.cpu_seconds / pass->cpu_seconds,
                    std::atof(pass->peak_rss.c_str()) / 1024.0 / pandas.peak_mb,
                    static_cast<long long>(pass->mismatches),
                    static_cast<long long>(pass->rows * kNumColumns));
      }
    }
    return 0;
  }

  static std::string LoadAverage() {
    std::ifstream in("/proc/loadavg");
    std::string line;
    std::getline(in, line);
    return line + "\n";
  }

  static void Print(const char* which, const char* name, const Pass& p, int features) {
    std::printf("%s %s: %lld rows x %d features in %.2f s, %.2f s CPU (%.0f rows/s), "
                "%.1f%% present, peak RSS of the call%s\n",
                which, name, static_cast<long long>(p.rows), features, p.seconds, p.cpu_seconds,
                static_cast<double>(p.rows) / p.seconds,
                100.0 * static_cast<double>(p.present) / static_cast<double>(p.rows * features),
                p.peak_rss.c_str());
  }

  // Events then queries through IngestBatch (the rows also go to `dir` as
  // arrays when it is set).
  absl::Status IngestData(const std::string& dir) {
    cv1::Schema schema;
    AddColumn(&schema, "id", cv1::DATA_TYPE_INT64, false, cv1::COLUMN_ROLE_ENTITY_KEY);
    AddColumn(&schema, "ts", cv1::DATA_TYPE_TIMESTAMP, false, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
    for (int k = 0; k < kNumColumns; ++k) {
      AddColumn(&schema, ("f" + std::to_string(k)).c_str(), cv1::DATA_TYPE_DOUBLE, false,
                cv1::COLUMN_ROLE_FEATURE);
    }
    cv1::Schema qschema;
    AddColumn(&qschema, "id", cv1::DATA_TYPE_INT64, false, cv1::COLUMN_ROLE_ENTITY_KEY);
    AddColumn(&qschema, "ts", cv1::DATA_TYPE_TIMESTAMP, false, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
    if (!CreateDataset("events", schema).ok() || !CreateDataset("queries", qschema).ok()) {
      return absl::InternalError("CreateDataset failed");
    }
    Rng rng(7);
    auto start = std::chrono::steady_clock::now();
    double ingest_seconds = 0;
    int batches = 0;
    for (int64_t done = 0; done < o_.events; ++batches) {
      const int64_t n = std::min(o_.ingest_batch, o_.events - done);
      std::vector<int64_t> ids(n), ts(n);
      std::vector<std::vector<double>> f(kNumColumns, std::vector<double>(n));
      std::vector<cv1::Row> batch(n);
      for (int64_t i = 0; i < n; ++i) {
        ids[i] = static_cast<int64_t>(rng.Next() % static_cast<uint64_t>(o_.entities));
        ts[i] = kT0 + static_cast<int64_t>(rng.Next() % (30 * kDay));
        *batch[i].add_values() = I(ids[i]);
        *batch[i].add_values() = T(ts[i]);
        for (int k = 0; k < kNumColumns; ++k) {
          f[k][i] = static_cast<double>(rng.Next() % 1000000) / 3;
          *batch[i].add_values() = D(f[k][i]);
        }
      }
      if (!dir.empty()) {
        bool ok = AppendArray(dir, "events_id.i64", ids.data(), n) &&
                  AppendArray(dir, "events_ts.i64", ts.data(), n);
        for (int k = 0; k < kNumColumns; ++k) {
          ok = ok && AppendArray(dir, "events_f" + std::to_string(k) + ".f64", f[k].data(), n);
        }
        if (!ok) return absl::InternalError("writing the arrays failed");
      }
      const auto ingest_start = std::chrono::steady_clock::now();
      MLOPS_RETURN_IF_ERROR(IngestRows("events", batch).status());
      ingest_seconds += Seconds(ingest_start);
      done += n;
    }
    std::vector<int64_t> qids(o_.rows), qts(o_.rows);
    std::vector<cv1::Row> queries(o_.rows);
    for (int64_t i = 0; i < o_.rows; ++i) {
      qids[i] = static_cast<int64_t>(rng.Next() % static_cast<uint64_t>(o_.entities));
      qts[i] = kT0 + static_cast<int64_t>(rng.Next() % (30 * kDay));
      *queries[i].add_values() = I(qids[i]);
      *queries[i].add_values() = T(qts[i]);
    }
    if (!dir.empty() && !(AppendArray(dir, "queries_id.i64", qids.data(), o_.rows) &&
                          AppendArray(dir, "queries_ts.i64", qts.data(), o_.rows))) {
      return absl::InternalError("writing the arrays failed");
    }
    const auto ingest_start = std::chrono::steady_clock::now();
    MLOPS_RETURN_IF_ERROR(IngestRows("queries", queries).status());
    ingest_seconds += Seconds(ingest_start);
    std::printf("ingested %lld events (%d batches) and %lld query rows: IngestBatch %.1f s "
                "(%.0f rows/s), %.1f s with data generation (setup, not compared)\n",
                static_cast<long long>(o_.events), batches, static_cast<long long>(o_.rows),
                ingest_seconds, static_cast<double>(o_.events + o_.rows) / ingest_seconds,
                Seconds(start));
    return absl::OkStatus();
  }

  // One GetHistoricalFeatures call over the query dataset; compares every
  // feature value with pandas' output in `dir` when it is set.
  absl::StatusOr<Pass> RunPass(const std::vector<std::string>& refs, const std::string& dir) {
    fv1::GetHistoricalFeaturesRequest req;
    req.mutable_dataset()->set_dataset("queries");
    for (const std::string& r : refs) req.add_feature_refs(r);
    req.set_full_feature_names(refs.size() > 1);
    req.set_chunk_rows(16384);
    Pass p;
    p.mismatches = dir.empty() ? -1 : 0;
    malloc_trim(0);  // setup's freed heap (e.g. the ingested batches) back to the OS
    ResetPeakRss();
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    const auto start = std::chrono::steady_clock::now();
    const double cpu = CpuSeconds();
    auto reader = stub_->GetHistoricalFeatures(&ctx, req);
    std::vector<std::vector<double>> expected(kNumColumns);
    // Each message is parsed onto its own arena over a reused first block
    // (grown to the largest message): no allocation per row or value, as a
    // C++ client reading a large stream would do.
    std::vector<char> block;
    size_t block_size = size_t{1} << 20;
    for (;;) {
      if (block.size() < block_size) block.resize(block_size);  // no arena lives on it here
      google::protobuf::ArenaOptions options;
      options.initial_block = block.data();
      options.initial_block_size = block.size();
      google::protobuf::Arena arena(options);
      auto* msg = google::protobuf::Arena::CreateMessage<fv1::GetHistoricalFeaturesResponse>(&arena);
      if (!reader->Read(msg)) break;
      block_size = std::max(block_size, static_cast<size_t>(arena.SpaceAllocated()));
      if (!msg->has_chunk()) continue;
      const auto& rows = msg->chunk().rows();
      const size_t first = static_cast<size_t>(msg->chunk().first_row_index());
      for (int k = 0; k < kNumColumns && !dir.empty(); ++k) {
        if (!ReadDoubles(dir, "pandas_f" + std::to_string(k) + ".f64", first,
                         static_cast<size_t>(rows.size()), &expected[k])) {
          return absl::InternalError("pandas output is short");
        }
      }
      for (int i = 0; i < rows.size(); ++i) {
        const cv1::Row& row = rows.Get(i);
        for (int c = 2; c < row.values_size(); ++c) {
          const bool has = row.values(c).kind_case() != 0;
          p.present += has ? 1 : 0;
          if (dir.empty()) continue;
          const double want = expected[c - 2][i];
          const double got = row.values(c).double_value();
          const bool same = has ? std::memcmp(&want, &got, 8) == 0
                                : std::isnan(want);
          p.mismatches += same ? 0 : 1;
        }
      }
      p.rows += rows.size();
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return FromGrpcStatus(s);
    p.seconds = Seconds(start);
    p.cpu_seconds = CpuSeconds() - cpu;
    p.peak_rss = PeakRss();
    return p;
  }

  Options o_;
};

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (key == "--events") o.events = std::atoll(value.c_str());
    else if (key == "--entities") o.entities = std::atoll(value.c_str());
    else if (key == "--rows") o.rows = std::atoll(value.c_str());
    else if (key == "--ingest_batch") o.ingest_batch = std::atoll(value.c_str());
    else if (key == "--case") o.which = value;
    else if (key == "--pandas") o.pandas = value != "0";
    else if (key == "--tmp") o.tmp = value;
    else if (key == "--repeat") o.repeat = std::atoi(value.c_str());
    else {
      std::fprintf(stderr, "unknown flag %s (see the top of %s)\n", arg.c_str(), __FILE__);
      std::exit(2);
    }
  }
  if (o.events <= 0 || o.entities <= 0 || o.rows <= 0 || o.ingest_batch <= 0 || o.repeat <= 0 ||
      (o.which != "raw" && o.which != "full" && o.which != "both")) {
    std::fprintf(stderr, "flags out of range\n");
    std::exit(2);
  }
  return o;
}

}  // namespace
}  // namespace mlops::features::testing

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows while it runs
  const mlops::features::testing::Options o = mlops::features::testing::Parse(argc, argv);
  return mlops::features::testing::WithScratchDatabase(
      "features_bench", [&](const std::string& dsn) {
        mlops::features::testing::Bench bench(o);
        return bench.Run(dsn);
      });
}
