// training_tracking_benchmark: figures for the tracking half of the training
// service against a real Postgres (MLOPS_TEST_PG_DSN, e.g. through
// scripts/with-pg.sh) and a real gRPC server on 127.0.0.1 (not a test).
//
//   training_tracking_benchmark [runs=100000] [points=1000000]
//
// 1. Ingest: `points` metric points through streaming LogMetrics (10000 per
//    message, 10 keys), one stream and then 4 parallel streams: points/s.
// 2. ListRuns over `runs` runs (seeded through the store with 6 threads):
//    p50/p99 latency of a metric filter + metric order, of the default order,
//    and of an experiment + param filter ordered by a metric.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/auth/authorizer.h"
#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "grpcpp/grpcpp.h"
#include "mlops_migrations/training_migrations.h"
#include "services/training/pg_tracking_store.h"
#include "services/training/training_service.h"

namespace mlops::training {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Streams `points` points into a new run; returns the points stored.
int64_t StreamPoints(v1::TrainingService::Stub& stub, int64_t points) {
  grpc::ClientContext start_ctx;
  v1::StartRunRequest start;
  start.set_name("ingest");
  v1::Run run;
  grpc::Status s = stub.StartRun(&start_ctx, start, &run);
  if (!s.ok()) {
    std::fprintf(stderr, "StartRun: %s\n", s.error_message().c_str());
    return 0;
  }
  const int64_t per_message = 10000;
  std::vector<v1::LogMetricsRequest> messages;
  for (int64_t done = 0; done < points; done += per_message) {
    v1::LogMetricsRequest m;
    if (done == 0) m.set_run_id(run.id());
    for (int64_t i = done; i < std::min(points, done + per_message); ++i) {
      v1::MetricPoint* p = m.add_points();
      p->set_key("metric_" + std::to_string(i % 10));
      p->set_value(static_cast<double>(i) * 0.001);
      p->set_step(i / 10);
      p->set_timestamp_micros(1700000000000000 + i);
    }
    messages.push_back(std::move(m));
  }
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

void Ingest(v1::TrainingService::Stub& stub, int64_t points, int streams) {
  std::vector<std::thread> threads;
  std::vector<int64_t> stored(streams);
  auto t0 = Clock::now();
  for (int i = 0; i < streams; ++i) {
    threads.emplace_back([&, i] { stored[i] = StreamPoints(stub, points / streams); });
  }
  for (auto& t : threads) t.join();
  double secs = Seconds(t0, Clock::now());
  int64_t total = 0;
  for (int64_t n : stored) total += n;
  std::printf("ingest: %lld points in %d stream(s), %.2f s, %.0f points/s\n",
              static_cast<long long>(total), streams, secs, total / secs);
}

void Seed(Tracking& tracking, int runs) {
  auto t0 = Clock::now();
  const int threads_n = 6;
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < runs; i += threads_n) {
        StartRunInput in;
        in.experiment = i % 10 == 0 ? "exp_small" : "default";
        in.params = {{"depth", std::to_string(i % 8)}, {"eta", "0.1"}};
        in.tags = {{"team", i % 2 ? "a" : "b"}};
        in.start_time_micros = 1700000000000000 + i;
        absl::StatusOr<Run> run = tracking.StartRun(in, "bench");
        if (!run.ok()) {
          std::fprintf(stderr, "seed: %s\n", run.status().ToString().c_str());
          return;
        }
        // A deterministic spread of values in [0, 1).
        double auc = static_cast<double>((static_cast<uint64_t>(i) * 2654435761u) % 100000) / 1e5;
        absl::StatusOr<int64_t> n = tracking.LogMetrics(
            run->id, 0, {MetricPoint{"auc", auc, 10, 0}, MetricPoint{"loss", 1 - auc, 10, 0}});
        if (!n.ok()) std::fprintf(stderr, "seed: %s\n", n.status().ToString().c_str());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::printf("seed: %d runs (2 metrics, 2 params, 1 tag each) in %.1f s\n", runs,
              Seconds(t0, Clock::now()));
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
  PgTrackingStore store(pool->get());
  Tracking tracking(&store);
  Authorizer authorizer = Authorizer::Disabled();
  TrainingServiceImpl service(&tracking, &authorizer, nullptr);
  Experiment small;
  small.name = "exp_small";
  if (!tracking.CreateExperiment(small, "bench").ok()) return 1;

  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) return std::fprintf(stderr, "cannot start the server\n"), 1;
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::TrainingService::NewStub(channel);

  Ingest(*stub, points, 1);
  Ingest(*stub, points, 4);

  Seed(tracking, runs);
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
  return 0;
}

}  // namespace
}  // namespace mlops::training

int main(int argc, char** argv) { return mlops::training::Main(argc, argv); }
