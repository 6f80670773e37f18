// monitoring_detection_latency_benchmark: the time from the first drifted
// prediction to a FIRING alert, seen through WatchAlerts, with 10 s windows.
//
// The real MonitoringServiceImpl (Postgres store, prediction-log writer,
// alert loop, real clock) runs in process on a fresh database of the
// cluster named by MLOPS_TEST_PG_DSN (dropped at the end). Per trial, a new
// version of model "bench" gets an inline-rows reference (x ~ N(0, 1),
// 5,000 rows); predictions stream at --rate per second through
// LogPredictions: calm (x ~ N(0, 1)) for --calm_s seconds, then drifted
// (x ~ N(2, 1)). The policy: FEATURE_DRIFT of x, the drift report's flag
// (normalised Wasserstein >= 0.1 with 5,000 reference rows), for 0 s,
// min_samples 100. Trials start the drift at different offsets within the
// 10 s window. Each alert round judges the last closed window and the open
// one once it holds min_samples predictions, so a drift is seen at the first
// round after enough drifted predictions are in the open window, whether or
// not its window has closed.
//
// Usage: monitoring_detection_latency_benchmark [--trials N] [--rate N]
//          [--calm_s N] [--eval_interval_ms N]   (default 5000: the service's)
// Not a timed test: prints the figures (goal <= 15 s).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "grpcpp/client_context.h"
#include "services/monitoring/bench_service.h"
#include "services/monitoring/monitoring_service.h"

namespace mlops::monitoring {
namespace {

constexpr int64_t kWindowMicros = 10'000'000;

struct Args {
  int trials = 3;
  int rate = 200;
  int calm_s = 12;
  int eval_interval_ms = 5000;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--trials") a.trials = std::max(1, v);
    if (k == "--rate") a.rate = std::max(10, v);
    if (k == "--calm_s") a.calm_s = std::max(1, v);
    if (k == "--eval_interval_ms") a.eval_interval_ms = std::max(100, v);
  }
  return a;
}

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

bool Setup(v1::MonitoringService::Stub* stub, int64_t version) {
  v1::SetReferenceRequest ref;
  ref.set_model("bench");
  ref.set_version(version);
  common::v1::Column* c = ref.mutable_rows()->mutable_schema()->add_columns();
  c->set_name("x");
  c->set_type(common::v1::DATA_TYPE_DOUBLE);
  std::mt19937_64 rng(static_cast<uint64_t>(version));
  std::normal_distribution<double> normal(0, 1);
  for (int i = 0; i < 5000; ++i) {
    ref.mutable_rows()->add_rows()->add_values()->set_double_value(normal(rng));
  }
  v1::Reference stored;
  if (!BenchCheck(stub->SetReference(BenchService::Context().get(), ref, &stored), "SetReference")) return false;
  v1::SetAlertPolicyRequest p;
  v1::AlertPolicy* policy = p.mutable_policy();
  policy->set_model("bench");
  policy->set_name("x_drift_v" + std::to_string(version));
  policy->set_version(version);
  policy->set_metric(v1::ALERT_METRIC_FEATURE_DRIFT);
  policy->set_feature("x");
  policy->set_severity(v1::SEVERITY_CRITICAL);
  policy->set_min_samples(100);
  v1::AlertPolicy created;
  return BenchCheck(stub->SetAlertPolicy(BenchService::Context().get(), p, &created), "SetAlertPolicy");
}

// One trial: returns the seconds from the first drifted prediction to FIRING
// (negative on failure).
double Trial(v1::MonitoringService::Stub* stub, int64_t version, const Args& args,
             double drift_offset_s) {
  if (!Setup(stub, version)) return -1;
  // Watch first, so that no change is missed.
  std::atomic<int64_t> fired_at{0};
  std::unique_ptr<grpc::ClientContext> watch_ctx = BenchService::Context();
  v1::WatchAlertsRequest watch;
  watch.set_model("bench");
  auto reader = stub->WatchAlerts(watch_ctx.get(), watch);
  std::thread watcher([&] {
    v1::WatchAlertsResponse r;
    while (reader->Read(&r)) {
      if (r.alert().version() == version && r.alert().state() == v1::ALERT_STATE_FIRING &&
          fired_at.load() == 0) {
        fired_at = NowMicros();
      }
    }
  });
  // Calm traffic, then the drift at `drift_offset_s` into a window after
  // at least calm_s seconds of calm.
  const int64_t start = NowMicros();
  int64_t drift_at = (start + args.calm_s * 1'000'000LL) / kWindowMicros * kWindowMicros +
                     kWindowMicros + static_cast<int64_t>(drift_offset_s * 1e6);
  std::mt19937_64 rng(static_cast<uint64_t>(version) * 7919);
  std::normal_distribution<double> normal(0, 1);
  int64_t first_drifted = 0;
  int64_t sent = 0;
  const int64_t give_up = drift_at + 60'000'000;
  v1::LogPredictionsResponse resp;
  auto ctx = BenchService::Context();
  auto writer = stub->LogPredictions(ctx.get(), &resp);
  const int64_t batch_micros = 100'000;  // a message every 100 ms
  for (int64_t t = start; fired_at.load() == 0 && t < give_up; t += batch_micros) {
    std::this_thread::sleep_until(std::chrono::system_clock::time_point(std::chrono::microseconds(t)));
    v1::LogPredictionsRequest req;
    req.set_model("bench");
    req.set_version(version);
    req.set_endpoint("bench_ep");
    req.add_feature_names("x");
    const int n = std::max(1, args.rate / 10);
    const int64_t now = NowMicros();
    const bool drifted = now >= drift_at;
    for (int i = 0; i < n; ++i) {
      v1::PredictionRecord* r = req.add_records();
      r->set_request_id("b" + std::to_string(version) + "-" + std::to_string(sent++));
      r->set_timestamp_micros(now);
      r->mutable_features()->add_values()->set_double_value(normal(rng) + (drifted ? 2.0 : 0.0));
      r->mutable_prediction()->set_score(0.5);
      r->set_latency_micros(1000);
    }
    if (drifted && first_drifted == 0) first_drifted = now;
    if (!writer->Write(req)) break;
  }
  writer->WritesDone();
  BenchCheck(writer->Finish(), "LogPredictions");
  watch_ctx->TryCancel();
  watcher.join();
  reader->Finish();
  if (fired_at.load() != 0 && (first_drifted == 0 || fired_at.load() < first_drifted)) {
    std::fprintf(stderr, "trial v%lld: FIRING during calm traffic (a false alarm)\n",
                 static_cast<long long>(version));
    return -1;
  }
  if (fired_at.load() == 0 || first_drifted == 0) {
    std::fprintf(stderr, "trial v%lld: no FIRING alert within 60 s of the drift\n",
                 static_cast<long long>(version));
    return -1;
  }
  const double seconds = static_cast<double>(fired_at.load() - first_drifted) / 1e6;
  std::printf("trial %lld: drift %4.1f s into a window -> FIRING after %5.2f s\n",
              static_cast<long long>(version), drift_offset_s, seconds);
  std::fflush(stdout);
  return seconds;
}

int Run(const Args& args) {
  MonitoringServiceOptions options;
  options.alert_eval_interval_micros = args.eval_interval_ms * 1000LL;
  absl::StatusOr<std::unique_ptr<BenchService>> bench =
      BenchService::Start("detection_latency", options);
  if (!bench.ok()) {
    std::fprintf(stderr, "%s\n", bench.status().ToString().c_str());
    return 1;
  }
  v1::MonitoringService::Stub* stub = (*bench)->stub();
  v1::SetMonitoringConfigRequest config;
  config.mutable_config()->set_model("bench");
  config.mutable_config()->set_window_micros(kWindowMicros);
  v1::MonitoringConfig stored;
  if (!BenchCheck(stub->SetMonitoringConfig(BenchService::Context().get(), config, &stored),
                  "SetMonitoringConfig")) {
    return 1;
  }
  (*bench)->service()->alerts()->Start();
  std::printf("detection latency: 10 s windows, alert rounds every %d ms, %d predictions/s\n",
              args.eval_interval_ms, args.rate);
  std::vector<double> results;
  for (int i = 0; i < args.trials; ++i) {
    // Drift onsets spread over the window, from 0.5 s to 9.5 s into it.
    const double offset = 0.5 + 9.0 * i / std::max(1, args.trials - 1);
    const double s = Trial(stub, i + 1, args, offset);
    if (s >= 0) results.push_back(s);
  }
  bench->reset();
  if (results.empty()) return 1;
  std::sort(results.begin(), results.end());
  double sum = 0;
  for (double r : results) sum += r;
  std::printf("detection latency over %zu trials: min %.2f s, mean %.2f s, max %.2f s (goal <= 15 s)\n",
              results.size(), results.front(), sum / static_cast<double>(results.size()),
              results.back());
  return static_cast<int>(results.size()) == args.trials ? 0 : 1;
}

}  // namespace
}  // namespace mlops::monitoring

int main(int argc, char** argv) {
  return mlops::monitoring::Run(mlops::monitoring::ParseArgs(argc, argv));
}
