// Online serving benchmark (a binary that prints figures; not a test).
//
//   features_online_benchmark [entities=20000] [seconds=3] [split]
//
// 5 views x 10 features (2 raw + 8 windowed aggregations) over synthetic
// events, materialized with OnlineSnapshot into the service's in-memory
// catalog, served by the real FeatureServiceImpl / OnlineServer over gRPC on
// 127.0.0.1 (auth disabled), the client in the same process. Measures:
// 1 entity x 50 features at concurrency 1 (p50/p99), 100 entities x 50
// features at concurrency 1, and throughput at concurrency 32, each next to
// an echo measured in the same run: a callback-API method (the same API kind
// as GetOnlineFeatures) whose request and response have the same serialized
// sizes as the online call's. Concurrency 32 = 32 calls in flight on one
// channel from the callback-API client (each started from the previous one's
// completion; no thread per call), for the online calls and the echo alike.
// Also, in process: the handler writing the response bytes itself vs the
// same response built message by message and serialized (the former design),
// and the client's parse.
// With "split" the server runs in a child process (forked after the views
// are built, before gRPC starts), so the CPU each side spends per call is
// measured apart: the client's from its own clock, the server's from
// /proc/<child>/stat.

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "services/features/feature_evaluator.h"
#include "common/server/queue_driven_service.h"
#include "services/features/features_service.h"
#include "services/features/online_server.h"
#include "services/features/proto_convert.h"
#include "services/features/testing/online_reference.h"
#include "services/features/testing/load_drive.h"
#include "services/features/testing/payload_echo.h"
#include "services/features/testing/splitmix.h"
#include "services/features/thread_pool.h"

namespace mlops::features {
namespace {

using testing::CpuMicros;
using testing::Drive;
using testing::DriveAsync;
using testing::Latencies;
using testing::ProcessCpuMicros;

constexpr int64_t kHourMicros = 3600LL * 1000000;
constexpr int64_t kStart = 1700000000LL * 1000000;

// One view: "v<k>", key id INT64, 10 features over x (DOUBLE) and n (INT64).
std::shared_ptr<const LoadedView> BuildView(int k, int64_t entities, ThreadPool* pool) {
  FeatureViewDefinition d;
  d.name = "v" + std::to_string(k);
  d.version = 1;
  d.entity_column = "id";
  d.event_time_column = "ts";
  d.source_dataset = "events";
  d.ttl_micros = 48 * kHourMicros;
  d.features = {{"x", "x", Aggregation::kRaw, 0},
                {"n", "n", Aggregation::kRaw, 0},
                {"x_sum_1d", "x", Aggregation::kSum, 24 * kHourMicros},
                {"x_mean_1d", "x", Aggregation::kMean, 24 * kHourMicros},
                {"x_max_7d", "x", Aggregation::kMax, 168 * kHourMicros},
                {"x_std_7d", "x", Aggregation::kStddev, 168 * kHourMicros},
                {"n_count_1d", "n", Aggregation::kCount, 24 * kHourMicros},
                {"n_sum_7d", "n", Aggregation::kSum, 168 * kHourMicros},
                {"n_min_30d", "n", Aggregation::kMin, 720 * kHourMicros},
                {"x_last_30d", "x", Aggregation::kLast, 720 * kHourMicros}};
  SourceSchema schema{{{"id", DataType::kInt64, false},
                       {"ts", DataType::kTimestamp, false},
                       {"x", DataType::kDouble, true},
                       {"n", DataType::kInt64, true}}};
  auto builder = EventTableBuilder::Create(d, schema, entities * 10);
  if (!builder.ok()) std::abort();
  testing::Rng rng(static_cast<uint64_t>(k + 1));
  auto next = [&rng] { return rng.Next(); };
  ColumnBatch batch;
  batch.columns = {ColumnVector(DataType::kInt64), ColumnVector(DataType::kTimestamp),
                   ColumnVector(DataType::kDouble), ColumnVector(DataType::kInt64)};
  for (int64_t i = 0; i < entities * 10; ++i) {
    batch.columns[0].values.ints.push_back(static_cast<int64_t>(next() % entities));
    batch.columns[1].values.ints.push_back(kStart + static_cast<int64_t>(next() % (720 * kHourMicros)));
    batch.columns[2].values.doubles.push_back(static_cast<double>(next() % 100000) / 7.0);
    batch.columns[3].values.ints.push_back(static_cast<int64_t>(next() % 1000));
  }
  batch.num_rows = entities * 10;
  if (!(*builder)->Append(batch).ok()) std::abort();
  std::shared_ptr<const EventTable> table = (*builder)->Finish(pool);
  auto loaded = std::make_shared<LoadedView>();
  loaded->view.definition = d;
  loaded->view.view.set_version(1);
  loaded->view.view.set_entity_key_type(cv1::DATA_TYPE_INT64);
  FeatureEvaluator evaluator(table);
  for (size_t f = 0; f < d.features.size(); ++f) {
    cv1::Column* c = loaded->view.view.mutable_feature_schema()->add_columns();
    c->set_name(d.features[f].name);
    c->set_type(DataTypeToProto(evaluator.output_type(f)));
  }
  const int64_t as_of = kStart + 720 * kHourMicros;
  loaded->snapshot = OnlineSnapshot::Materialize(evaluator, as_of, pool);
  loaded->last_event_micros = LastEventTimes(*loaded->snapshot, *table);
  loaded->source_version_id = "synthetic";
  return loaded;
}


namespace echo = ::mlopstest::echo::v1;
using testing::EchoRequestFor;
using testing::PayloadEcho;

// The feature service and the echo on 127.0.0.1:<port>.
struct Server {
  ViewRegistry views{nullptr, nullptr, [] { return kStart + 720 * kHourMicros; }};
  Authorizer authorizer = Authorizer::Disabled();
  std::unique_ptr<OnlineServer> online_server;
  std::unique_ptr<FeatureServiceImpl> service;
  PayloadEcho echo;
  std::unique_ptr<ServerQueues> queues;  // the service's online methods; after the server
  std::unique_ptr<grpc::Server> grpc_server;
  int port = 0;

  explicit Server(const OnlineViews* online) {
    online_server = std::make_unique<OnlineServer>(online, &views, nullptr, 1000);
    FeatureServiceDeps deps;
    deps.views = &views;
    deps.online = online_server.get();
    deps.authorizer = &authorizer;
    service = std::make_unique<FeatureServiceImpl>(deps);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service.get());
    builder.RegisterService(&echo);
    queues = std::make_unique<ServerQueues>(builder, std::vector<grpc::Service*>{service.get()}, 1,
                                            "features-cq");
    grpc_server = builder.BuildAndStart();
    queues->Start();
  }
  void Stop() {
    grpc_server->Shutdown();
    queues->Stop();
  }
};

v1::GetOnlineFeaturesRequest MakeRequest(int n, int64_t entities) {
  v1::GetOnlineFeaturesRequest req;
  for (int k = 0; k < 5; ++k) req.add_feature_refs("v" + std::to_string(k) + ":*");
  for (int i = 0; i < n; ++i) {
    req.add_entity_rows()->add_values()->set_int64_value((i * 7919) % entities);
  }
  req.set_request_time_micros(kStart + 720 * kHourMicros);
  return req;
}

// The server's own work for 100 entities, without transport or scheduling:
// the handler writing the response bytes; the same response built as
// messages on an arena and serialized (the former design); the client's
// parse of the bytes onto an arena.
void MeasureInProcess(const OnlineServer& server, const OnlineViews& online,
                      const v1::GetOnlineFeaturesRequest& hundred) {
  constexpr int kCalls = 2000;
  Latencies direct, messages, parse;
  double direct_cpu = 0, messages_cpu = 0;
  std::string bytes;
  for (int i = 0; i < kCalls; ++i) {
    double c0 = CpuMicros(CLOCK_THREAD_CPUTIME_ID);
    auto s0 = std::chrono::steady_clock::now();
    absl::StatusOr<std::string> out = server.GetSerialized(hundred);
    if (!out.ok()) std::abort();
    direct.micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s0).count());
    direct_cpu += CpuMicros(CLOCK_THREAD_CPUTIME_ID) - c0;
    bytes = *std::move(out);

    c0 = CpuMicros(CLOCK_THREAD_CPUTIME_ID);
    s0 = std::chrono::steady_clock::now();
    std::string reference;
    {
      google::protobuf::Arena arena;
      auto* resp = google::protobuf::Arena::CreateMessage<v1::GetOnlineFeaturesResponse>(&arena);
      testing::ReferenceOnlineResponse(*online.Load(), hundred, hundred.request_time_micros(),
                                       resp);
      if (!resp->SerializeToString(&reference)) std::abort();
    }
    messages.micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s0).count());
    messages_cpu += CpuMicros(CLOCK_THREAD_CPUTIME_ID) - c0;
    if (reference != bytes) {
      std::printf("the handler's bytes differ from the message path's\n");
      std::abort();
    }

    s0 = std::chrono::steady_clock::now();
    google::protobuf::Arena arena;
    auto* parsed = google::protobuf::Arena::CreateMessage<v1::GetOnlineFeaturesResponse>(&arena);
    if (!parsed->ParseFromString(bytes)) std::abort();
    parse.micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s0).count());
  }
  std::printf("in process, 100 entities x 50 features (%zu bytes, equal on both paths):\n"
              "  handler writing the bytes: p50 %.3f ms p99 %.3f ms, CPU %.0f us/call\n"
              "  messages + SerializeToString (former design): p50 %.3f ms p99 %.3f ms, "
              "CPU %.0f us/call\n"
              "  client parse onto an arena: p50 %.3f ms\n",
              bytes.size(), direct.Percentile(0.5) / 1000, direct.Percentile(0.99) / 1000,
              direct_cpu / kCalls, messages.Percentile(0.5) / 1000,
              messages.Percentile(0.99) / 1000, messages_cpu / kCalls,
              parse.Percentile(0.5) / 1000);
}

// What the client does per 1-entity call beyond the echo's: parse the
// response (50 column descriptors + 50 values) vs an EchoResponse of the
// same size (one string).
void MeasureClientParse(const OnlineServer& server, const v1::GetOnlineFeaturesRequest& one) {
  const std::string bytes = *server.GetSerialized(one);
  echo::EchoResponse blob;
  blob.set_message(std::string(bytes.size() - 3, 'x'));
  const std::string echo_bytes = blob.SerializeAsString();
  constexpr int kCalls = 20000;
  double online_cpu = 0, echo_cpu = 0;
  for (int i = 0; i < kCalls; ++i) {
    double c0 = CpuMicros(CLOCK_THREAD_CPUTIME_ID);
    {
      google::protobuf::Arena arena;
      auto* m = google::protobuf::Arena::CreateMessage<v1::GetOnlineFeaturesResponse>(&arena);
      if (!m->ParseFromString(bytes)) std::abort();
    }
    online_cpu += CpuMicros(CLOCK_THREAD_CPUTIME_ID) - c0;
    c0 = CpuMicros(CLOCK_THREAD_CPUTIME_ID);
    echo::EchoResponse e;
    if (!e.ParseFromString(echo_bytes)) std::abort();
    echo_cpu += CpuMicros(CLOCK_THREAD_CPUTIME_ID) - c0;
  }
  std::printf("client parse, 1 entity (%zu bytes): online response %.1f us, echo response "
              "(%zu bytes) %.1f us\n", bytes.size(), online_cpu / kCalls, echo_bytes.size(),
              echo_cpu / kCalls);
}

// The gRPC figures against 127.0.0.1:port. `server_pid` > 0: the server is
// that process, and its CPU per call is reported next to the client's.
void MeasureRpc(int port, int64_t entities, double seconds, pid_t server_pid) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::FeatureService::NewStub(channel);
  auto echo_stub = echo::EchoService::NewStub(channel);
  // Blocking calls (concurrency 1). The response on an arena, as a careful
  // client does: parsing 5000 Values into heap messages was the client's
  // largest cost (malloc and free in perf), on the same 2 cores as the
  // server.
  auto online_call = [&](const v1::GetOnlineFeaturesRequest& req) {
    return [&stub, &req] {
      grpc::ClientContext ctx;
      google::protobuf::Arena arena;
      auto* resp = google::protobuf::Arena::CreateMessage<v1::GetOnlineFeaturesResponse>(&arena);
      return stub->GetOnlineFeatures(&ctx, req, resp).ok();
    };
  };
  auto echo_call = [&](const echo::EchoRequest& req) {
    return [&echo_stub, &req] {
      grpc::ClientContext ctx;
      echo::EchoResponse resp;
      return echo_stub->Echo(&ctx, req, &resp).ok();
    };
  };
  // Callback-API calls (concurrency 32).
  struct OnlineCall {
    grpc::ClientContext ctx;
    google::protobuf::Arena arena;
    v1::GetOnlineFeaturesResponse* resp =
        google::protobuf::Arena::CreateMessage<v1::GetOnlineFeaturesResponse>(&arena);
  };
  auto online_async = [&](const v1::GetOnlineFeaturesRequest& req) {
    return [&stub, &req](std::function<void(bool)>* done) {
      auto* call = new OnlineCall;
      stub->async()->GetOnlineFeatures(&call->ctx, &req, call->resp, [call, done](grpc::Status s) {
        delete call;
        (*done)(s.ok());
      });
    };
  };
  struct EchoCall {
    grpc::ClientContext ctx;
    echo::EchoResponse resp;
  };
  auto echo_async = [&](const echo::EchoRequest& req) {
    return [&echo_stub, &req](std::function<void(bool)>* done) {
      auto* call = new EchoCall;
      echo_stub->async()->Echo(&call->ctx, &req, &call->resp, [call, done](grpc::Status s) {
        delete call;
        (*done)(s.ok());
      });
    };
  };

  const v1::GetOnlineFeaturesRequest one = MakeRequest(1, entities);
  const v1::GetOnlineFeaturesRequest hundred = MakeRequest(100, entities);
  size_t one_bytes = 0, hundred_bytes = 0;
  for (auto [req, size] : {std::pair{&one, &one_bytes}, std::pair{&hundred, &hundred_bytes}}) {
    grpc::ClientContext ctx;
    v1::GetOnlineFeaturesResponse sample;
    if (!stub->GetOnlineFeatures(&ctx, *req, &sample).ok()) std::abort();
    *size = sample.ByteSizeLong();
  }
  const echo::EchoRequest echo_one = EchoRequestFor(one.ByteSizeLong(), one_bytes);
  const echo::EchoRequest echo_hundred = EchoRequestFor(hundred.ByteSizeLong(), hundred_bytes);
  std::printf("views 5 x 10 features, %lld entities each; request/response bytes: 1 entity "
              "%zu/%zu (echo %zu/%zu), 100 entities %zu/%zu (echo %zu/%zu)%s\n",
              static_cast<long long>(entities), one.ByteSizeLong(), one_bytes,
              echo_one.ByteSizeLong(), static_cast<size_t>(echo_one.count()) + 3,
              hundred.ByteSizeLong(), hundred_bytes, echo_hundred.ByteSizeLong(),
              static_cast<size_t>(echo_hundred.count()) + 4,
              server_pid > 0 ? "; server in its own process" : "");
  auto cpu_text = [&](double client_cpu, double server0, double calls) {
    if (server_pid <= 0) {
      return "CPU " + std::to_string(static_cast<int>(client_cpu)) + " us/call (client + server)";
    }
    return "client CPU " + std::to_string(static_cast<int>(client_cpu)) + " us/call, server CPU " +
           std::to_string(static_cast<int>((ProcessCpuMicros(server_pid) - server0) /
                                           std::max(1.0, calls))) + " us/call";
  };
  // Concurrency 1: wall latencies and CPU per call.
  auto latency_phase = [&](const char* name, const std::function<bool()>& call) {
    Latencies lat;
    double cpu = 0;
    const double server0 = server_pid > 0 ? ProcessCpuMicros(server_pid) : 0;
    const double rate = Drive(seconds, &lat, call, &cpu);
    std::printf("%s, concurrency 1: p50 %.3f ms p90 %.3f ms p99 %.3f ms (%.0f req/s), %s\n", name,
                lat.Percentile(0.5) / 1000, lat.Percentile(0.9) / 1000,
                lat.Percentile(0.99) / 1000, rate, cpu_text(cpu, server0, rate * seconds).c_str());
    std::fflush(stdout);
  };
  auto rate_phase = [&](const char* name, const auto& start) {
    double cpu = 0;
    const double server0 = server_pid > 0 ? ProcessCpuMicros(server_pid) : 0;
    const double rate = DriveAsync(32, seconds, start, &cpu);
    std::printf("%s, concurrency 32: %.0f req/s, %s\n", name, rate,
                cpu_text(cpu, server0, rate * seconds).c_str());
    std::fflush(stdout);
    return rate;
  };
  Drive(0.5, nullptr, online_call(one));  // warm up
  latency_phase("online 1 entity x 50 features", online_call(one));
  latency_phase("echo, 1-entity sizes", echo_call(echo_one));
  latency_phase("online 100 entities x 50 features", online_call(hundred));
  latency_phase("echo, 100-entity sizes", echo_call(echo_hundred));
  const double r32 = rate_phase("online 1 entity x 50 features", online_async(one));
  const double e32 = rate_phase("echo, 1-entity sizes", echo_async(echo_one));
  std::printf("concurrency 32: online %.0f req/s, echo %.0f req/s, ratio %.2f\n", r32, e32,
              r32 / e32);
}

int Main(int argc, char** argv) {
  const int64_t entities = argc > 1 ? std::atoll(argv[1]) : 20000;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  const bool split = argc > 3 && std::string(argv[3]) == "split";
  // As every service's main does (common/server/service_main.cc): Debian's
  // Abseil checks mutex lock order on every lock otherwise.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  OnlineViews online;
  {
    ThreadPool pool(2);  // joined before any fork
    for (int k = 0; k < 5; ++k) online.Put(BuildView(k, entities, &pool));
  }
  if (!split) {
    Server server(&online);
    MeasureInProcess(*server.online_server, online, MakeRequest(100, entities));
    MeasureClientParse(*server.online_server, MakeRequest(1, entities));
    MeasureRpc(server.port, entities, seconds, 0);
    server.Stop();
    return 0;
  }
  int port_pipe[2], stop_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(stop_pipe) != 0) return 1;
  const pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {  // the server: serve until the parent closes stop_pipe
    close(port_pipe[0]);
    close(stop_pipe[1]);
    Server server(&online);
    if (write(port_pipe[1], &server.port, sizeof(server.port)) != sizeof(server.port)) _exit(1);
    char c;
    while (read(stop_pipe[0], &c, 1) > 0) {
    }
    server.Stop();
    _exit(0);
  }
  close(port_pipe[1]);
  close(stop_pipe[0]);
  int port = 0;
  if (read(port_pipe[0], &port, sizeof(port)) != sizeof(port)) return 1;
  std::printf("server pid %d (profile it with perf record -p)\n", static_cast<int>(child));
  std::fflush(stdout);
  MeasureRpc(port, entities, seconds, child);
  close(stop_pipe[1]);
  int status = 0;
  waitpid(child, &status, 0);
  return 0;
}

}  // namespace
}  // namespace mlops::features

int main(int argc, char** argv) { return mlops::features::Main(argc, argv); }
