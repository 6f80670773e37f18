// monitoring_prediction_log_benchmark: prediction-log ingest rate through
// LogPredictions (goal >= 200k rows/s).
//
// The real MonitoringServiceImpl runs in process (BenchService: Postgres
// store on a throwaway database of MLOPS_TEST_PG_DSN, the async COPY writer)
// behind an in-process gRPC channel, so each message is serialized and
// parsed as from the gateway. Model "bench" has an inline-rows reference
// (--features double features, 5,000 rows). --streams client threads each
// make --calls LogPredictions calls (client streams) of --messages messages
// of --records records (timestamps now, one 60 s window), built before the
// clock starts. The default, 1 message of 1,000 records per call, is the
// gateway's shape (its PredictionLogger sends each batch of up to 1,000
// records as one call). A call is answered only once its rows are durable
// in Postgres (the writer's COPY committed), so rows/s acknowledged is rows/s
// durable. --writers: the writer's background threads (default: the
// service's). Printed with the process CPU time (client, handler, writer;
// Postgres excluded) and the load average. Then one retention sweep
// (RetentionSweeper, clock 8 days ahead) deletes every row written and its
// rate is printed.
//
// Usage: monitoring_prediction_log_benchmark [--streams N] [--calls N]
//          [--messages N] [--records N] [--features N] [--writers N]

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "services/monitoring/bench_service.h"
#include "services/monitoring/pg_monitoring_store.h"
#include "services/monitoring/pg_retention_store.h"
#include "services/monitoring/proto_convert.h"
#include "services/monitoring/retention_sweeper.h"

namespace mlops::monitoring {
namespace {

struct Args {
  int streams = 2;
  int calls = 100;
  int messages = 1;
  int records = 1000;
  int features = 10;
  int writers = PredictionLogWriterOptions{}.writers;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::max(1, std::atoi(argv[i + 1]));
    if (k == "--streams") a.streams = v;
    if (k == "--calls") a.calls = v;
    if (k == "--messages") a.messages = v;
    if (k == "--records") a.records = std::min(v, 10'000);
    if (k == "--features") a.features = v;
    if (k == "--writers") a.writers = v;
  }
  return a;
}

double LoadAverage() {
  double load = -1;
  std::ifstream in("/proc/loadavg");
  in >> load;
  return load;
}

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string FeatureName(int j) { return "f" + std::to_string(j); }

bool SetReference(v1::MonitoringService::Stub* stub, int features) {
  v1::SetMonitoringConfigRequest config;
  config.mutable_config()->set_model("bench");
  config.mutable_config()->set_window_micros(60'000'000);
  v1::MonitoringConfig stored;
  if (!BenchCheck(stub->SetMonitoringConfig(BenchService::Context().get(), config, &stored),
                  "SetMonitoringConfig")) {
    return false;
  }
  v1::SetReferenceRequest ref;
  ref.set_model("bench");
  ref.set_version(1);
  for (int j = 0; j < features; ++j) {
    common::v1::Column* c = ref.mutable_rows()->mutable_schema()->add_columns();
    c->set_name(FeatureName(j));
    c->set_type(common::v1::DATA_TYPE_DOUBLE);
  }
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal(0, 1);
  for (int i = 0; i < 5000; ++i) {
    common::v1::Row* row = ref.mutable_rows()->add_rows();
    for (int j = 0; j < features; ++j) row->add_values()->set_double_value(normal(rng) + j);
  }
  v1::Reference out;
  return BenchCheck(stub->SetReference(BenchService::Context().get(), ref, &out), "SetReference");
}

// The messages of one stream, request ids "s<stream>-<n>".
std::vector<v1::LogPredictionsRequest> Messages(const Args& args, int stream, int64_t now) {
  std::mt19937_64 rng(static_cast<uint64_t>(stream) + 17);
  std::normal_distribution<double> normal(0, 1);
  std::vector<v1::LogPredictionsRequest> out(static_cast<size_t>(args.calls) *
                                             static_cast<size_t>(args.messages));
  int64_t n = 0;
  for (v1::LogPredictionsRequest& req : out) {
    req.set_model("bench");
    req.set_version(1);
    req.set_endpoint("bench_ep");
    for (int j = 0; j < args.features; ++j) req.add_feature_names(FeatureName(j));
    for (int i = 0; i < args.records; ++i) {
      v1::PredictionRecord* r = req.add_records();
      r->set_request_id("s" + std::to_string(stream) + "-" + std::to_string(n++));
      r->set_timestamp_micros(now);
      for (int j = 0; j < args.features; ++j) {
        r->mutable_features()->add_values()->set_double_value(normal(rng) + j);
      }
      r->mutable_prediction()->set_score(0.5);
      r->set_latency_micros(900);
    }
  }
  return out;
}

// Retention deletion of everything just written: one sweep with the clock
// 8 days ahead (past the default 7-day raw retention), the production
// transaction size, no bound on transactions. Prints its rate.
bool SweepEverything(BenchService* bench, int64_t now) {
  PgMonitoringStore configs(bench->pool());
  PgRetentionStore store(bench->pool());
  RetentionSweeperOptions options;
  options.now_micros = [now] { return now + 8 * kDayMicros; };
  options.raw_retention_of = RawRetentionFromConfigs(&configs);
  options.max_transactions = 1'000'000;
  RetentionSweeper sweeper(&store, nullptr, options);
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<RetentionDeleted> d = sweeper.SweepOnce();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!d.ok()) {
    std::fprintf(stderr, "retention sweep: %s\n", d.status().ToString().c_str());
    return false;
  }
  std::printf("  retention sweep (%lld batches per transaction): %lld batches, %lld request rows"
              " deleted in %.3f s = %.0f request rows/s\n",
              static_cast<long long>(options.batches_per_transaction),
              static_cast<long long>(d->batches), static_cast<long long>(d->requests), s,
              d->requests / s);
  return true;
}

int Run(const Args& args) {
  PredictionLogWriterOptions writer_options;
  writer_options.writers = args.writers;
  absl::StatusOr<std::unique_ptr<BenchService>> bench =
      BenchService::Start("prediction_log", MonitoringServiceOptions{}, writer_options);
  if (!bench.ok()) {
    std::fprintf(stderr, "%s\n", bench.status().ToString().c_str());
    return 1;
  }
  v1::MonitoringService::Stub* stub = (*bench)->stub();
  if (!SetReference(stub, args.features)) return 1;
  const int64_t now = absl::ToUnixMicros(absl::Now());
  std::vector<std::vector<v1::LogPredictionsRequest>> messages(static_cast<size_t>(args.streams));
  for (int s = 0; s < args.streams; ++s) messages[static_cast<size_t>(s)] = Messages(args, s, now);
  const int64_t total =
      static_cast<int64_t>(args.streams) * args.calls * args.messages * args.records;
  std::printf("prediction-log ingest: %d client threads x %d calls x %d messages x %d records,"
              " %d double features, %d writers (%lld rows; load average %.2f at start on %u"
              " hardware threads)\n",
              args.streams, args.calls, args.messages, args.records, args.features, args.writers,
              static_cast<long long>(total), LoadAverage(), std::thread::hardware_concurrency());

  const double cpu0 = CpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int64_t> accepted(static_cast<size_t>(args.streams), 0);
  std::vector<std::thread> clients;
  for (int s = 0; s < args.streams; ++s) {
    clients.emplace_back([&, s] {
      const std::vector<v1::LogPredictionsRequest>& mine = messages[static_cast<size_t>(s)];
      for (int c = 0; c < args.calls; ++c) {
        v1::LogPredictionsResponse resp;
        auto ctx = BenchService::Context();
        auto writer = stub->LogPredictions(ctx.get(), &resp);
        for (int m = 0; m < args.messages; ++m) {
          if (!writer->Write(mine[static_cast<size_t>(c * args.messages + m)])) break;
        }
        writer->WritesDone();
        if (!BenchCheck(writer->Finish(), "LogPredictions")) return;
        accepted[static_cast<size_t>(s)] += resp.accepted();
      }
    });
  }
  for (std::thread& t : clients) t.join();
  const double handler_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double handler_cpu = CpuSeconds() - cpu0;
  // Durable: wait (bounded: 10 min) for the writer to COPY every row.
  PredictionLogWriter* writer = (*bench)->writer();
  for (int i = 0; i < 60'000 && writer->written() + writer->dropped() + writer->failed() < total;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double durable_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double durable_cpu = CpuSeconds() - cpu0;
  int64_t accepted_total = 0;
  for (int64_t a : accepted) accepted_total += a;
  std::printf("  acknowledged by LogPredictions (windows updated, rows durable): %lld rows in"
              " %.3f s = %.0f rows/s (%.2f s CPU)\n",
              static_cast<long long>(accepted_total), handler_s, accepted_total / handler_s,
              handler_cpu);
  std::printf("  durable in Postgres (COPY): %lld written, %lld dropped, %lld failed after %.3f s"
              " = %.0f rows/s (%.2f s CPU)\n",
              static_cast<long long>(writer->written()), static_cast<long long>(writer->dropped()),
              static_cast<long long>(writer->failed()), durable_s, writer->written() / durable_s,
              durable_cpu);
  std::printf("  goal >= 200000 rows/s; load average now %.2f\n", LoadAverage());
  const bool deleted = SweepEverything(bench->get(), now);
  return accepted_total == total && writer->written() == total && deleted ? 0 : 1;
}

}  // namespace
}  // namespace mlops::monitoring

int main(int argc, char** argv) {
  return mlops::monitoring::Run(mlops::monitoring::ParseArgs(argc, argv));
}
