// training_tracking_benchmark: figures for the tracking half of the training
// service against a real Postgres (MLOPS_TEST_PG_DSN, e.g. through
// scripts/with-pg.sh) and a real gRPC server on 127.0.0.1 (not a test).
//
//   training_tracking_benchmark [runs=100000] [points=1000000]
//
// 1. Ingest: `points` metric points through streaming LogMetrics (10000 per
//    message, 10 keys), one stream and then 4 parallel streams: points/s.
//    The same through a server whose store keeps the layout before
//    migration 0005 (one indexed row per point, appended by COPY: the old
//    path), in the same run, for the ratio. The messages are built before
//    the clock starts.
// 2. ListRuns over `runs` runs (bulk-inserted by SQL, then ANALYZE):
//    p50/p99 latency of a metric filter + metric order, of the default
//    order, and of an experiment + param filter ordered by a metric.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/auth/authorizer.h"
#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "grpcpp/grpcpp.h"
#include "services/training/run_query.h"
#include "mlops_migrations/training_migrations.h"
#include "services/training/pg_tracking_store.h"
#include "services/training/pg_tracking_internal.h"
#include "services/training/training_service.h"

namespace mlops::training {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The layout before migration 0005, kept here as the baseline: one row per
// point in `metric_rows` (the old table and its history index), appended by
// COPY of text lines with the latest values upserted (the old
// AppendMetrics); everything else is PgTrackingStore's.
class RowLayoutStore final : public PgTrackingStore {
 public:
  explicit RowLayoutStore(PgPool* pool) : PgTrackingStore(pool), pool_(pool) {}

  static absl::Status CreateTable(PgPool& pool) {
    return pool.WithTransaction([](pqxx::transaction_base& tx) {
      tx.exec("CREATE TABLE metric_rows (run_id text NOT NULL, key text NOT NULL, step bigint "
              "NOT NULL, timestamp_micros bigint NOT NULL, value double precision NOT NULL, "
              "seq bigint GENERATED ALWAYS AS IDENTITY)");
      tx.exec("CREATE INDEX metric_rows_history ON metric_rows (run_id, key, step, "
              "timestamp_micros, seq)");
    });
  }

  absl::Status AppendMetrics(const std::string& run_id,
                             const std::vector<MetricPoint>& points) override {
    if (points.empty()) return absl::OkStatus();
    std::string lines;
    for (size_t i = 0; i < points.size(); ++i) {
      const MetricPoint& p = points[i];
      if (i > 0) lines.push_back('\n');
      absl::StrAppend(&lines, run_id, "\t", p.key, "\t", p.step, "\t", p.timestamp_micros, "\t",
                      DoubleText(p.value));
    }
    std::vector<std::string> cols[7];
    for (const auto& [key, m] : pg_tracking_internal::Summaries(points)) {
      cols[0].push_back(std::string(key));
      cols[1].push_back(DoubleText(m.value));
      cols[2].push_back(absl::StrCat(m.step));
      cols[3].push_back(absl::StrCat(m.timestamp_micros));
      cols[4].push_back(DoubleText(m.min));
      cols[5].push_back(DoubleText(m.max));
      cols[6].push_back(absl::StrCat(m.count));
    }
    return pool_->WithTransaction({"kInsertMetricRows"}, [&](pqxx::transaction_base& tx) {
      absl::Status locked =
          pg_tracking_internal::LockRunShared(tx, run_id, /*need_running=*/true);
      if (!locked.ok()) return locked;
      const std::vector<std::string> names = {"run_id", "key", "step", "timestamp_micros",
                                              "value"};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      pqxx::tablewriter writer(tx, "metric_rows", names.begin(), names.end());
#pragma GCC diagnostic pop
      writer.write_raw_line(lines);
      writer.complete();
      tx.exec_params(
          absl::StrCat("INSERT INTO run_latest_metric AS l (run_id, key, value, step, "
                       "timestamp_micros, min_value, max_value, count) SELECT $1, k, v, s, t, "
                       "mn, mx, c FROM unnest($2::text[], $3::float8[], $4::int8[], $5::int8[], "
                       "$6::float8[], $7::float8[], $8::int8[]) AS u(k, v, s, t, mn, mx, c)",
                       pg_tracking_internal::kMergeLatestOnConflict),
          run_id, PgTextArray(cols[0]), "{" + absl::StrJoin(cols[1], ",") + "}",
          "{" + absl::StrJoin(cols[2], ",") + "}", "{" + absl::StrJoin(cols[3], ",") + "}",
          "{" + absl::StrJoin(cols[4], ",") + "}", "{" + absl::StrJoin(cols[5], ",") + "}",
          "{" + absl::StrJoin(cols[6], ",") + "}");
      return absl::OkStatus();
    });
  }

 private:
  PgPool* pool_;
};

// The messages of one stream: `points` points, 10000 per message, 10 keys.
std::vector<v1::LogMetricsRequest> Messages(int64_t points) {
  const int64_t per_message = 10000;
  std::vector<v1::LogMetricsRequest> messages;
  for (int64_t done = 0; done < points; done += per_message) {
    v1::LogMetricsRequest m;
    for (int64_t i = done; i < std::min(points, done + per_message); ++i) {
      v1::MetricPoint* p = m.add_points();
      p->set_key("metric_" + std::to_string(i % 10));
      p->set_value(static_cast<double>(i) * 0.001);
      p->set_step(i / 10);
      p->set_timestamp_micros(1700000000000000 + i);
    }
    messages.push_back(std::move(m));
  }
  return messages;
}

// Streams the messages into a new run; returns the points stored.
int64_t StreamPoints(v1::TrainingService::Stub& stub, std::vector<v1::LogMetricsRequest> messages) {
  grpc::ClientContext start_ctx;
  v1::StartRunRequest start;
  start.set_name("ingest");
  v1::Run run;
  grpc::Status s = stub.StartRun(&start_ctx, start, &run);
  if (!s.ok()) {
    std::fprintf(stderr, "StartRun: %s\n", s.error_message().c_str());
    return 0;
  }
  if (!messages.empty()) messages[0].set_run_id(run.id());
  grpc::ClientContext ctx;
  v1::LogMetricsResponse resp;
  auto writer = stub.LogMetrics(&ctx, &resp);
  for (const auto& m : messages) {
    if (!writer->Write(m)) break;
  }
  writer->WritesDone();
  s = writer->Finish();
  if (!s.ok()) std::fprintf(stderr, "LogMetrics: %s\n", s.error_message().c_str());
  return resp.points_logged();
}

// Points/s of `points` points in `streams` parallel streams.
double Ingest(v1::TrainingService::Stub& stub, const char* what, int64_t points, int streams) {
  std::vector<std::vector<v1::LogMetricsRequest>> messages;
  for (int i = 0; i < streams; ++i) messages.push_back(Messages(points / streams));
  std::vector<std::thread> threads;
  std::vector<int64_t> stored(streams);
  auto t0 = Clock::now();
  for (int i = 0; i < streams; ++i) {
    threads.emplace_back([&, i] { stored[i] = StreamPoints(stub, std::move(messages[i])); });
  }
  for (auto& t : threads) t.join();
  double secs = Seconds(t0, Clock::now());
  int64_t total = 0;
  for (int64_t n : stored) total += n;
  std::printf("ingest %-40s %lld points in %d stream(s), %.2f s, %.0f points/s\n", what,
              static_cast<long long>(total), streams, secs, total / secs);
  return total / secs;
}

// `runs` runs as StartRun + LogMetrics would leave them (2 params, 1 tag,
// latest auc and loss), inserted by SQL in one transaction, then ANALYZE
// (as autovacuum would after such a load).
absl::Status Seed(PgPool& pool, int runs) {
  auto t0 = Clock::now();
  constexpr char kIds[] =
      "FROM (SELECT g, 'run-' || lpad(to_hex(g), 16, '0') AS id, "
      "((g::int8 * 2654435761) % 100000) / 1e5::float8 AS auc FROM generate_series(0, $1 - 1) g) x";
  absl::Status s = pool.WithTransaction([&](pqxx::transaction_base& tx) {
    tx.exec_params(absl::StrCat("INSERT INTO run (run_id, experiment, name, status, principal, "
                                "created_at_micros, start_time_micros) SELECT id, CASE WHEN g % "
                                "10 = 0 THEN 'exp_small' ELSE 'default' END, '', 2, 'bench', "
                                "1700000000000000 + g, 1700000000000000 + g ",
                                kIds),
                   runs);
    tx.exec_params(absl::StrCat("INSERT INTO run_param (run_id, key, value) SELECT id, 'depth', "
                                "(g % 8)::text ",
                                kIds, " UNION ALL SELECT id, 'eta', '0.1' ", kIds),
                   runs);
    tx.exec_params(absl::StrCat("INSERT INTO run_tag (run_id, key, value) SELECT id, 'team', "
                                "CASE WHEN g % 2 = 1 THEN 'a' ELSE 'b' END ",
                                kIds),
                   runs);
    tx.exec_params(absl::StrCat("INSERT INTO run_latest_metric (run_id, key, value, step, "
                                "timestamp_micros, min_value, max_value, count) SELECT id, "
                                "'auc', auc, 10, 1700000000000000 + g, auc, auc, 1 ",
                                kIds, " UNION ALL SELECT id, 'loss', 1 - auc, 10, "
                                "1700000000000000 + g, 1 - auc, 1 - auc, 1 ", kIds),
                   runs);
  });
  if (!s.ok()) return s;
  s = pool.WithConnection([](pqxx::connection_base& c) {
    pqxx::nontransaction tx(c);
    tx.exec("ANALYZE");
  });
  std::printf("seed: %d runs (2 metrics, 2 params, 1 tag each) by SQL + ANALYZE in %.1f s\n", runs,
              Seconds(t0, Clock::now()));
  return s;
}

void TimeListRuns(v1::TrainingService::Stub& stub, const char* what,
                  const v1::ListRunsRequest& req, int iterations) {
  std::vector<double> ms;
  size_t returned = 0;
  for (int i = 0; i < iterations; ++i) {
    grpc::ClientContext ctx;
    v1::ListRunsResponse resp;
    auto t0 = Clock::now();
    grpc::Status s = stub.ListRuns(&ctx, req, &resp);
    ms.push_back(Seconds(t0, Clock::now()) * 1000);
    if (!s.ok()) {
      std::fprintf(stderr, "ListRuns: %s\n", s.error_message().c_str());
      return;
    }
    returned = resp.runs_size();
  }
  std::sort(ms.begin(), ms.end());
  std::printf("ListRuns %-55s page=%zu  p50 %.1f ms  p99 %.1f ms  (n=%d)\n", what, returned,
              ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], iterations);
}

// Serves `service` on a free loopback port; *stub talks to it over TCP.
std::unique_ptr<grpc::Server> Serve(TrainingServiceImpl* service,
                                    std::unique_ptr<v1::TrainingService::Stub>* stub) {
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) return nullptr;
  *stub = v1::TrainingService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  return server;
}

int Main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  int runs = argc > 1 ? std::atoi(argv[1]) : 100000;
  int64_t points = argc > 2 ? std::atoll(argv[2]) : 1000000;
  std::optional<std::string> admin = TestPgDsnFromEnv();
  if (!admin) {
    std::fprintf(stderr, "set MLOPS_TEST_PG_DSN (e.g. run through scripts/with-pg.sh)\n");
    return 2;
  }
  auto db = PgTestDatabase::Create(*admin, "training_bench");
  if (!db.ok()) return std::fprintf(stderr, "%s\n", db.status().ToString().c_str()), 1;
  PgPoolOptions options;
  options.dsn = (*db)->dsn();
  options.search_path = "training";
  options.size = 8;
  options.statement_timeout = absl::Seconds(60);
  auto pool = PgPool::Create(options);
  if (!pool.ok()) return std::fprintf(stderr, "%s\n", pool.status().ToString().c_str()), 1;
  auto migrated = RunMigrations(**pool, "training", EmbeddedMigrations());
  if (!migrated.ok()) return std::fprintf(stderr, "%s\n", migrated.status().ToString().c_str()), 1;
  if (absl::Status s = RowLayoutStore::CreateTable(**pool); !s.ok()) {
    return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  PgTrackingStore store(pool->get());
  Tracking tracking(&store);
  RowLayoutStore old_store(pool->get());
  Tracking old_tracking(&old_store);
  Authorizer authorizer = Authorizer::Disabled();
  TrainingServiceImpl service(&tracking, &authorizer, nullptr);
  TrainingServiceImpl old_service(&old_tracking, &authorizer, nullptr);
  Experiment small;
  small.name = "exp_small";
  if (!tracking.CreateExperiment(small, "bench").ok()) return 1;

  std::unique_ptr<v1::TrainingService::Stub> stub, old_stub;
  std::unique_ptr<grpc::Server> server = Serve(&service, &stub);
  std::unique_ptr<grpc::Server> old_server = Serve(&old_service, &old_stub);
  if (!server || !old_server) return std::fprintf(stderr, "cannot start the servers\n"), 1;

  for (int streams : {1, 4}) {
    double now = Ingest(*stub, "(blocks, migration 0005)", points, streams);
    double old = Ingest(*old_stub, "(old: a row per point, COPY)", points, streams);
    std::printf("ingest ratio blocks / old, %d stream(s): %.2f\n", streams, now / old);
  }

  if (absl::Status s = Seed(**pool, runs); !s.ok()) {
    return std::fprintf(stderr, "seed: %s\n", s.ToString().c_str()), 1;
  }
  v1::ListRunsRequest by_metric;
  auto* f = by_metric.add_metrics();
  f->set_key("auc");
  f->set_op(v1::COMPARISON_GREATER);
  f->set_value(0.5);
  by_metric.mutable_order_by()->set_metric("auc");
  by_metric.mutable_page()->set_page_size(100);
  TimeListRuns(*stub, "auc > 0.5 order by auc desc", by_metric, 200);
  v1::ListRunsRequest asc = by_metric;
  asc.mutable_order_by()->set_ascending(true);
  TimeListRuns(*stub, "auc > 0.5 order by auc asc", asc, 200);
  v1::ListRunsRequest by_start;
  by_start.mutable_page()->set_page_size(100);
  TimeListRuns(*stub, "no filter, order by start time desc", by_start, 200);
  v1::ListRunsRequest mixed;
  mixed.add_experiments("exp_small");
  auto* p = mixed.add_params();
  p->set_key("depth");
  p->set_value("2");
  mixed.mutable_order_by()->set_metric("loss");
  mixed.mutable_page()->set_page_size(100);
  TimeListRuns(*stub, "experiment=exp_small, depth=2, order by loss desc", mixed, 200);
  // Deep page: follow tokens 20 pages into the metric order.
  v1::ListRunsRequest deep = by_metric;
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext ctx;
    v1::ListRunsResponse resp;
    if (!stub->ListRuns(&ctx, deep, &resp).ok() || resp.next_page_token().empty()) break;
    deep.mutable_page()->set_page_token(resp.next_page_token());
  }
  TimeListRuns(*stub, "auc > 0.5 order by auc desc, page 21", deep, 200);
  server->Shutdown();
  old_server->Shutdown();
  return 0;
}

}  // namespace
}  // namespace mlops::training

int main(int argc, char** argv) { return mlops::training::Main(argc, argv); }
