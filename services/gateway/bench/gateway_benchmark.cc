// gateway_benchmark: single-row Predict (30 features, a 100-tree depth-6
// XGBoost model) over loopback gRPC, side by side in one run:
//   - echo:    an empty method on the gateway's server, on the
//              completion-queue API as its Predict (the transport and the
//              platform's server setup alone); at c=1 also a callback-API echo
//              on a bare gRPC server and on a GrpcServer with and without
//              the RPC-metrics interceptor (what the server setup costs);
//   - floor:   a minimal callback-API C++ server calling XGBoost in its handler
//              (floor_server.cc);
//   - python:  a grpcio + xgboost server (python_server.py) as a child process,
//              skipped (saying how to install it) when python3 lacks the modules;
//   - gateway: the gateway as main.cc builds it (metrics, prediction log),
//              inline features and by entity key through the feature service's
//              real online path (FeatureServiceImpl + OnlineServer on a
//              GrpcServer over loopback, bench/feature_server.h; --fake_features:
//              the synchronous testing::FakeFeatures instead);
//   - the same gateway, inline and by entity key, busy-polling: a second
//              gateway and feature service started with
//              --grpc_busy_poll_us (--busy_poll_us, 100 by default), side
//              by side with the default ones under the same load.
// Each server runs in a process of its own (this binary re-executed with
// --serve, bench/server_child.h), as services run in production, and this
// process holds only the client; --in_process runs them all in this process
// instead (as before: gRPC then polls every server's and the client's
// sockets from one epoll set, which hands events between threads).
// Then the issue's goals as ratios of the same run. The client shares the
// machine: each line prints the cores used by the client threads, by this
// process and by the line's server processes.
// The client is the same for every line of one concurrency: at c=1 a
// blocking unary stub on one thread (the lowest-latency client: the calling
// thread waits on the call's own completion queue, no hand-off to another
// thread); at c=32 gRPC's callback API (32 calls in flight, no thread per
// call). --sync_client uses blocking calls (one thread per call) at c=32
// too; --callback_client uses the callback API at c=1 too. The c=1 study
// lines also show the echo with the other client. Lines on the blocking
// client run (and warm up) before any on the callback API: once used, the
// callback API keeps two threads in this process polling with the caller's,
// which would put a thread hand-off into every blocking call.
// Bounded by a request count and a time limit per line; not a test. Each
// line is measured in --rounds slices taken in turn with the other lines of
// its concurrency (round robin), so load from elsewhere on the machine falls
// on every line alike; the ratios are of the pooled figures.
//
//   gateway_benchmark [--requests N] [--seconds S] [--rounds R] [--no_python] [--no_log]
//                     [--xgboost_only] [--sync_client] [--callback_client] [--no_study]
//                     [--fake_features] [--interceptor_metrics] [--in_process]
//                     [--only TEXT] [--deadlock_detection] [--busy_poll_us N]
// (--xgboost_only: the gateway predicts through XGBoost, not its flat trees;
// --no_study: skip the c=1 echo study lines;
// --interceptor_metrics: Predict's RPC metrics recorded by the interceptor, as
// before, instead of by its handler (as main.cc does);
// --only TEXT: measure only the lines whose name contains TEXT, e.g. for perf;
// --busy_poll_us N: the busy-polling lines' gateway and feature service
// poll their queues N us before sleeping (--grpc_busy_poll_us; 100 by
// default, 0: no such lines);
// --deadlock_detection: keep Abseil's mutex deadlock detection, which Debian's
// Abseil (built without NDEBUG) enables for gRPC's mutexes and mlops-gateway
// turns off; otherwise off for every server here)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/create_channel.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "mlops/inference/v1/inference.grpc.pb.h"
#include "mlopstest/echo/v1/echo.grpc.pb.h"
#include "services/gateway/bench/bench_servers.h"
#include "services/gateway/bench/load.h"
#include "services/gateway/bench/python_server.h"
#include "services/gateway/bench/server_child.h"
#include "services/gateway/testing/fake_peers.h"

namespace mlops::gateway::bench {
namespace {

namespace fv1 = ::mlops::features::v1;
namespace iv1 = ::mlops::inference::v1;
constexpr int kCols = 30;

std::function<bool()> PredictCall(iv1::InferenceService::Stub* stub, const iv1::PredictRequest* req) {
  return [stub, req] {
    grpc::ClientContext ctx;
    iv1::PredictResponse resp;
    return stub->Predict(&ctx, *req, &resp).ok() && resp.predictions_size() == 1;
  };
}

// The feature lookups of the entity-key line as the gateway timed them
// (PredictResponse.feature_lookup_micros): the share of its latency spent on
// the hop to the feature service.
struct LookupTimes {
  absl::Mutex mu;
  std::vector<double> ms ABSL_GUARDED_BY(mu);
};

std::function<bool()> TimedKeyCall(iv1::InferenceService::Stub* stub, const iv1::PredictRequest* req,
                                   LookupTimes* times) {
  return [stub, req, times] {
    grpc::ClientContext ctx;
    iv1::PredictResponse resp;
    if (!stub->Predict(&ctx, *req, &resp).ok() || resp.predictions_size() != 1) return false;
    absl::MutexLock lock(&times->mu);
    times->ms.push_back(static_cast<double>(resp.feature_lookup_micros()) / 1000.0);
    return true;
  };
}

AsyncCall AsyncPredict(iv1::InferenceService::Stub* stub, const iv1::PredictRequest* req) {
  return [stub, req](std::function<void(bool)> done) {
    struct State {
      grpc::ClientContext ctx;
      iv1::PredictResponse resp;
    };
    auto* st = new State;  // deleted by its completion
    stub->async()->Predict(&st->ctx, req, &st->resp,
                           [st, done = std::move(done)](grpc::Status s) {
                             const bool ok = s.ok() && st->resp.predictions_size() == 1;
                             delete st;
                             done(ok);
                           });
  };
}

std::unique_ptr<iv1::InferenceService::Stub> StubOn(int port) {
  return iv1::InferenceService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
}

void Goal(const char* what, double value, const char* op, double target) {
  const bool met = std::strcmp(op, ">=") == 0 ? value >= target : value <= target;
  std::printf("  %-58s %8.3f %s %-8.3f %s\n", what, value, op, target, met ? "met" : "MISSED");
}

void PrintLookupTimes(LookupTimes* times) {
  absl::MutexLock lock(&times->mu);
  std::vector<double>& ms = times->ms;
  if (ms.empty()) return;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1))]; };
  std::printf("  (by entity key, c=1: the gateway's feature lookup took p50 %.3f ms, p99 %.3f ms "
              "of it, as the gateway timed it)\n", at(0.5), at(0.99));
}

// One line of the benchmark: the same request through a blocking stub
// (`call`) or the callback API (`async_call`).
struct Target {
  std::string name;
  std::function<bool()> call;
  AsyncCall async_call;
  std::vector<pid_t> children;  // the processes serving it (CPU reported)
  bool c1_only = false;       // a study line: measured at c=1 only
  bool other_client = false;  // measured with the client the other lines of c=1 do not use
};

int Main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--serve") == 0) return ServeMain(argc, argv);  // a server child
  }
  long requests = 20000;
  int rounds = 5;
  int busy_poll_us = 100;
  double seconds = 10;
  bool python = true, log = true, flat = true;
  std::string only;
  bool deadlock_detection = false;
  bool sync_client = false, callback_client = false, study = true, real_features = true,
       self_recorded = true, separate = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--requests") == 0 && i + 1 < argc) requests = std::atol(argv[++i]);
    else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--no_python") == 0) python = false;
    else if (std::strcmp(argv[i], "--no_log") == 0) log = false;
    else if (std::strcmp(argv[i], "--xgboost_only") == 0) flat = false;
    else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
    else if (std::strcmp(argv[i], "--deadlock_detection") == 0) deadlock_detection = true;
    else if (std::strcmp(argv[i], "--sync_client") == 0) sync_client = true;
    else if (std::strcmp(argv[i], "--callback_client") == 0) callback_client = true;
    else if (std::strcmp(argv[i], "--no_study") == 0) study = false;
    else if (std::strcmp(argv[i], "--fake_features") == 0) real_features = false;
    else if (std::strcmp(argv[i], "--interceptor_metrics") == 0) self_recorded = false;
    else if (std::strcmp(argv[i], "--in_process") == 0) separate = false;
    else if (std::strcmp(argv[i], "--busy_poll_us") == 0 && i + 1 < argc) busy_poll_us = std::atoi(argv[++i]);
  }
  if (!deadlock_detection) absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<std::string> model = testing::TrainTestModel(kCols, 100, 6, 1);
  if (!model.ok()) {
    std::fprintf(stderr, "train: %s\n", model.status().ToString().c_str());
    return 1;
  }
  BenchServersOptions so;
  so.gateway.model_json = *model;
  so.gateway.cols = kCols;
  so.gateway.prediction_log = log;
  so.gateway.flat_trees = flat;
  so.gateway.real_features = real_features;
  so.gateway.self_recorded_metrics = self_recorded;
  so.busy_poll_us = busy_poll_us;
  so.separate_processes = separate;
  so.study = study;
  so.deadlock_detection = deadlock_detection;
  absl::StatusOr<std::unique_ptr<BenchServers>> servers = BenchServers::Start(so);
  if (!servers.ok()) {
    std::fprintf(stderr, "start: %s\n", servers.status().ToString().c_str());
    return 1;
  }
  const BenchServers& sv = **servers;
  std::unique_ptr<PythonServer> py;
  if (python) {
    const std::string missing = PythonBaselineMissing();
    if (!missing.empty()) {
      std::printf("python baseline skipped: %s\n", missing.c_str());
    } else {
      absl::StatusOr<std::unique_ptr<PythonServer>> started =
          PythonServer::Start(MLOPS_SOURCE_DIR, *model, 32);
      if (started.ok()) py = std::move(*started);
      else std::printf("python baseline skipped: %s\n", started.status().ToString().c_str());
    }
  }

  iv1::PredictRequest inline_req;
  inline_req.set_endpoint("bench_ep");
  for (int c = 0; c < kCols; ++c) inline_req.add_feature_names(absl::StrCat("f", c));
  auto* values = inline_req.add_rows()->mutable_features();
  for (int c = 0; c < kCols; ++c) values->add_values()->set_double_value(0.01 * c);
  iv1::PredictRequest key_req;
  key_req.set_endpoint("bench_ep");
  key_req.add_rows()->mutable_entity_key()->set_int64_value(42);
  iv1::PredictRequest explain_req = inline_req;
  explain_req.mutable_options()->set_explain(true);

  auto gw_stub = StubOn(sv.gateway_port());
  auto floor_stub = StubOn(sv.floor_port());
  std::unique_ptr<iv1::InferenceService::Stub> py_stub = py ? StubOn(py->port()) : nullptr;
  // The echo targets: the gateway's server, then (c=1 study) the other servers.
  ::mlopstest::echo::v1::EchoRequest echo_req;
  echo_req.set_message("x");
  std::vector<std::unique_ptr<::mlopstest::echo::v1::EchoService::Stub>> echo_stubs;
  auto echo_target = [&](std::string name, int port, std::vector<pid_t> pids) {
    echo_stubs.push_back(::mlopstest::echo::v1::EchoService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials())));
    auto* stub = echo_stubs.back().get();
    Target t;
    t.name = std::move(name);
    t.children = std::move(pids);
    t.call = [stub, &echo_req] {
      grpc::ClientContext ctx;
      ::mlopstest::echo::v1::EchoResponse resp;
      return stub->Echo(&ctx, echo_req, &resp).ok();
    };
    t.async_call = [stub, &echo_req](std::function<void(bool)> done) {
      struct State {
        grpc::ClientContext ctx;
        ::mlopstest::echo::v1::EchoResponse resp;
      };
      auto* st = new State;  // deleted by its completion
      stub->async()->Echo(&st->ctx, &echo_req, &st->resp,
                          [st, done = std::move(done)](grpc::Status s) {
                            delete st;
                            done(s.ok());
                          });
    };
    return t;
  };
  const std::vector<pid_t>& gw_pids = sv.gateway_pids();
  std::vector<Target> targets = {
      echo_target("echo (empty gRPC, gateway's server)", sv.gateway_port(), gw_pids),
      {"floor (callback C++ + XGBoost)", PredictCall(floor_stub.get(), &inline_req),
       AsyncPredict(floor_stub.get(), &inline_req), sv.floor_pids()},
      {"gateway, 30 features inline", PredictCall(gw_stub.get(), &inline_req),
       AsyncPredict(gw_stub.get(), &inline_req), gw_pids},
  };
  if (py) {
    targets.insert(targets.begin() + 2,
                   {"python (grpcio + xgboost)", PredictCall(py_stub.get(), &inline_req),
                    AsyncPredict(py_stub.get(), &inline_req), {py->pid()}});
  }
  const std::string key_name = "gateway, by entity key (features)";
  const std::string explain_name = "gateway, inline + explain (SHAP)";
  LookupTimes lookup_times;
  targets.push_back({key_name, TimedKeyCall(gw_stub.get(), &key_req, &lookup_times),
                     AsyncPredict(gw_stub.get(), &key_req), gw_pids});
  targets.push_back({explain_name, PredictCall(gw_stub.get(), &explain_req),
                     AsyncPredict(gw_stub.get(), &explain_req), gw_pids});
  // The same gateway and feature service, busy-polling (a pair of their own).
  const std::string busy_suffix = absl::StrCat(", busy-poll ", busy_poll_us, " us");
  const std::string busy_inline_name = "gateway, inline" + busy_suffix;
  const std::string busy_key_name = "gateway, by entity key" + busy_suffix;
  std::unique_ptr<iv1::InferenceService::Stub> busy_gw_stub;
  if (sv.busy_gateway_port() > 0) {
    busy_gw_stub = StubOn(sv.busy_gateway_port());
    targets.push_back({busy_inline_name, PredictCall(busy_gw_stub.get(), &inline_req),
                       AsyncPredict(busy_gw_stub.get(), &inline_req), sv.busy_gateway_pids()});
    targets.push_back({busy_key_name, PredictCall(busy_gw_stub.get(), &key_req),
                       AsyncPredict(busy_gw_stub.get(), &key_req), sv.busy_gateway_pids()});
  }
  for (const StudyEcho& echo : sv.study()) {
    targets.push_back(echo_target(echo.name, echo.port, echo.pids));
    targets.back().c1_only = true;
  }
  std::unique_ptr<fv1::FeatureService::Stub> features_stub;
  fv1::GetOnlineFeaturesRequest features_req;  // what the gateway sends for key_req
  features_req.add_entity_rows()->add_values()->set_int64_value(42);
  for (int c = 0; c < kCols; ++c) features_req.add_feature_refs(absl::StrCat("view:f", c));
  if (study && sv.features_port() > 0) {  // the gateway's hop to the feature service, alone
    features_stub = fv1::FeatureService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", sv.features_port()), grpc::InsecureChannelCredentials()));
    Target t;
    t.name = "study: features GetOnlineFeatures, direct";
    t.children = {gw_pids[1]};
    t.c1_only = true;
    t.call = [stub = features_stub.get(), &features_req] {
      grpc::ClientContext ctx;
      fv1::GetOnlineFeaturesResponse resp;
      return stub->GetOnlineFeatures(&ctx, features_req, &resp).ok() && resp.rows_size() == 1;
    };
    t.async_call = [stub = features_stub.get(), &features_req](std::function<void(bool)> done) {
      struct State {
        grpc::ClientContext ctx;
        fv1::GetOnlineFeaturesResponse resp;
      };
      auto* st = new State;  // deleted by its completion
      stub->async()->GetOnlineFeatures(&st->ctx, &features_req, &st->resp,
                                       [st, done = std::move(done)](grpc::Status s) {
                                         const bool ok = s.ok() && st->resp.rows_size() == 1;
                                         delete st;
                                         done(ok);
                                       });
    };
    targets.push_back(std::move(t));
  }
  std::unique_ptr<iv1::InferenceService::Stub> unary_gw_stub;
  if (study && sv.unary_gateway_port() > 0) {  // the lookups as unary calls, as before the stream
    unary_gw_stub = StubOn(sv.unary_gateway_port());
    Target t{"study: by entity key, unary lookups", PredictCall(unary_gw_stub.get(), &key_req),
             AsyncPredict(unary_gw_stub.get(), &key_req), sv.unary_gateway_pids()};
    targets.push_back(std::move(t));
  }
  if (study) {  // the gateway server's echo with the other c=1 client
    targets.push_back(echo_target(callback_client ? "study: echo, gateway's, blocking client"
                                                  : "study: echo, gateway's, callback client",
                                  sv.gateway_port(), gw_pids));
    targets.back().c1_only = true;
    targets.back().other_client = true;
  }
  // Which client a line uses: true = blocking stub (one thread per call).
  auto blocking = [&](const Target& t, int c) {
    const bool lines_blocking = c == 1 ? !callback_client : sync_client;
    return t.other_client ? !lines_blocking : lines_blocking;
  };
  auto run = [&](const Target& t, int c, long n, double s) {
    return blocking(t, c) ? Run(c, n, s, t.call, t.children)
                          : RunAsync(c, n, s, t.async_call, t.children);
  };
  for (const Target& t : targets) {  // first calls load the model (blocking: see below)
    if (!t.call()) {
      std::fprintf(stderr, "first call to %s failed\n", t.name.c_str());
      return 1;
    }
  }
  std::printf("gateway_benchmark: %d features, 100 trees depth 6, %ld requests or %.0f s per line, "
              "%d rounds, prediction log %s, gateway runtime %s, absl deadlock detection %s, "
              "features %s, Predict's RPC metrics by %s, servers %s, busy-polling gateway %s, "
              "client: %s; %s\n", kCols, requests, seconds, rounds, log ? "on" : "off",
              flat ? "flat trees" : "XGBoost", deadlock_detection ? "on" : "off",
              real_features ? "real online path" : "fake (sync)",
              self_recorded ? "its handler" : "the interceptor",
              separate ? "each in its own process" : "in the client's process",
              busy_poll_us > 0 ? absl::StrCat(busy_poll_us, " us").c_str() : "none",
              callback_client ? "c=1 callback API" : "c=1 blocking stub on one thread",
              sync_client ? "c=32 blocking stubs, one thread per call"
                          : "c=32 callback API, 32 calls in flight");
  std::map<std::string, std::map<int, Figures>> fig;
  for (int c : {1, 32}) {
    std::map<std::string, std::vector<Figures>> slices;
    // gRPC's callback API, once used in a process, leaves two threads
    // waiting on the process's poller for good: a blocking call's response
    // is then often read by one of them, which wakes the caller (measured:
    // ~2 more thread switches per c=1 call, every c=1 line slower alike).
    // So the blocking client's lines run, warm-up included, before the
    // callback API's first call in this process.
    for (bool callback_pass : {false, true}) {
      std::vector<const Target*> pass;
      for (const Target& t : targets) {
        const bool selected = t.name.find(only) != std::string::npos &&
                              !((t.name == explain_name || t.c1_only) && c != 1);
        if (selected && blocking(t, c) != callback_pass) pass.push_back(&t);
      }
      for (const Target* t : pass) run(*t, c, 1000, 3);  // warm this client's path
      if (!callback_pass) {
        absl::MutexLock lock(&lookup_times.mu);
        lookup_times.ms.clear();  // the warm-up's
      }
      for (int r = 0; r < rounds; ++r) {
        for (const Target* t : pass) {
          slices[t->name].push_back(run(*t, c, requests / rounds, seconds / rounds));
        }
      }
    }
    for (const Target& t : targets) {
      if (slices.count(t.name) == 0) continue;
      fig[t.name][c] = Merge(slices[t.name]);
      Print(t.name, c, fig[t.name][c]);
    }
    if (c == 1) PrintLookupTimes(&lookup_times);
  }
  if (!only.empty()) return 0;

  const Figures& g1 = fig["gateway, 30 features inline"][1];
  const Figures& g32 = fig["gateway, 30 features inline"][32];
  const Figures& f1 = fig["floor (callback C++ + XGBoost)"][1];
  const Figures& f32 = fig["floor (callback C++ + XGBoost)"][32];
  std::printf("goals (this run):\n");
  Goal("c=32 throughput: gateway / floor", g32.rps / f32.rps, ">=", 1.0);
  if (py) {
    Goal("c=32 throughput: gateway / python", g32.rps / fig["python (grpcio + xgboost)"][32].rps, ">=", 10.0);
  } else {
    std::printf("  c=32 throughput: gateway / python: not measured (python skipped)\n");
  }
  Goal("c=1 p50: gateway / floor", g1.p50_ms / f1.p50_ms, "<=", 1.2);
  const Figures& k1 = fig[key_name][1];
  Goal("c=1 p99 (ms): gateway, inline", g1.p99_ms, "<=", 0.5);
  Goal("c=1 p99 (ms): gateway, by entity key", k1.p99_ms, "<=", 1.0);
  // As the issue measured its figures: the median of the rounds' p99s.
  Goal("c=1 p99 (ms), median of rounds: gateway, inline", g1.p99_median_of_runs_ms, "<=", 0.5);
  Goal("c=1 p99 (ms), median of rounds: gateway, by entity key", k1.p99_median_of_runs_ms, "<=",
       1.0);
  // The same two p99 goals against this run's floor. The issue measured the
  // floor's c=1 p99 at 0.40 ms on a quiet machine, so its 0.5 ms is 1.25x the
  // floor's p99 and its 1 ms 2.5x; load from elsewhere on this shared
  // 2-core machine stretches every line's tail alike, the ratios much less.
  constexpr double kIssueFloorP99Ms = 0.40;
  Goal("c=1 p99: gateway, inline / floor", g1.p99_ms / f1.p99_ms, "<=", 0.5 / kIssueFloorP99Ms);
  Goal("c=1 p99: gateway, by entity key / floor", k1.p99_ms / f1.p99_ms, "<=",
       1.0 / kIssueFloorP99Ms);
  std::printf("  (the floor's own c=1 p99 this run: %.3f ms pooled, %.3f ms the median of rounds; "
              "the issue measured %.2f ms)\n",
              f1.p99_ms, f1.p99_median_of_runs_ms, kIssueFloorP99Ms);
  if (fig.count(busy_inline_name) > 0) {
    // The same goals for the busy-polling pair (--grpc_busy_poll_us): what
    // a deployment that gives the gateway CPU for latency gets.
    const Figures& b1 = fig[busy_inline_name][1];
    const Figures& bk1 = fig[busy_key_name][1];
    std::printf("goals with busy polling (%d us; this run):\n", busy_poll_us);
    Goal("c=32 throughput: gateway / floor", fig[busy_inline_name][32].rps / f32.rps, ">=", 1.0);
    Goal("c=1 p50: gateway / floor", b1.p50_ms / f1.p50_ms, "<=", 1.2);
    Goal("c=1 p99 (ms): gateway, inline", b1.p99_ms, "<=", 0.5);
    Goal("c=1 p99 (ms): gateway, by entity key", bk1.p99_ms, "<=", 1.0);
    Goal("c=1 p99 (ms), median of rounds: gateway, inline", b1.p99_median_of_runs_ms, "<=", 0.5);
    Goal("c=1 p99 (ms), median of rounds: gateway, by entity key", bk1.p99_median_of_runs_ms,
         "<=", 1.0);
  }
  return 0;
}

}  // namespace
}  // namespace mlops::gateway::bench

int main(int argc, char** argv) { return mlops::gateway::bench::Main(argc, argv); }
