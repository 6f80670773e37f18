// Online serving benchmark (a binary that prints figures; not a test).
//
//   features_online_benchmark [entities=20000] [seconds=3] [split]
//
// 5 views x 10 features (2 raw + 8 windowed aggregations) over synthetic
// events, materialized with OnlineSnapshot into the service's in-memory
// catalog, served by the real FeatureServiceImpl / OnlineServer over gRPC on
// 127.0.0.1 (auth disabled), the client in the same process. Measures:
// 1 entity x 50 features at concurrency 1 (p50/p99), 100 entities x 50
// features at concurrency 1, and throughput at concurrency 32, next to an
// echo service returning a payload of the same size in the same run.
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
#include <thread>
#include <vector>

#include "common/testing/echo_service.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "services/features/feature_evaluator.h"
#include "services/features/features_service.h"
#include "services/features/online_server.h"
#include "services/features/proto_convert.h"
#include "services/features/testing/splitmix.h"
#include "services/features/thread_pool.h"

namespace mlops::features {
namespace {

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

// CPU time (not wall) of this thread or the whole process, microseconds:
// what a call costs, unaffected by waiting for a core on a loaded machine.
double CpuMicros(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

struct Latencies {
  std::vector<double> micros;
  double Percentile(double p) {
    std::sort(micros.begin(), micros.end());
    if (micros.empty()) return 0;
    return micros[std::min(micros.size() - 1, static_cast<size_t>(p * micros.size()))];
  }
};

// Runs `call` from `threads` threads for `seconds`; returns calls per second
// and (with one thread) fills the latencies.
template <typename Call>
double Drive(int threads, double seconds, Latencies* lat, Call call,
             double* cpu_per_call = nullptr) {
  std::atomic<int64_t> calls{0};
  const double cpu_start = CpuMicros(CLOCK_PROCESS_CPUTIME_ID);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> workers;
  std::vector<Latencies> per(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int64_t i = 0; i < 100000000 && std::chrono::steady_clock::now() < end; ++i) {
        const auto s = std::chrono::steady_clock::now();
        if (!call()) std::abort();
        per[t].micros.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s).count());
        calls.fetch_add(1);
      }
    });
  }
  for (auto& w : workers) w.join();
  if (cpu_per_call != nullptr) {
    *cpu_per_call = (CpuMicros(CLOCK_PROCESS_CPUTIME_ID) - cpu_start) /
                    static_cast<double>(std::max<int64_t>(1, calls.load()));
  }
  if (lat != nullptr) {
    for (auto& p : per) lat->micros.insert(lat->micros.end(), p.micros.begin(), p.micros.end());
  }
  return static_cast<double>(calls.load()) / seconds;
}

// User + system CPU of process `pid` (all its threads, exited ones
// included), microseconds, at clock-tick resolution.
double ProcessCpuMicros(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return 0;
  std::vector<std::string> fields;
  std::string field;
  for (size_t i = paren + 2; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == ' ') {
      fields.push_back(field);
      field.clear();
    } else {
      field += line[i];
    }
  }
  // Fields after the name start at 3 (state); utime is 14, stime 15.
  if (fields.size() < 13) return 0;
  const double ticks = std::atof(fields[11].c_str()) + std::atof(fields[12].c_str());
  return ticks * 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The feature service and the echo on 127.0.0.1:<port>.
struct Server {
  ViewRegistry views{nullptr, nullptr, [] { return kStart + 720 * kHourMicros; }};
  Authorizer authorizer = Authorizer::Disabled();
  std::unique_ptr<OnlineServer> online_server;
  std::unique_ptr<FeatureServiceImpl> service;
  TestEchoService echo;
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
    grpc_server = builder.BuildAndStart();
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
// the handler, then serializing its response, then the client's parse.
void MeasureInProcess(const OnlineServer& server, const v1::GetOnlineFeaturesRequest& hundred) {
  Latencies handler, serialize, parse;
  std::string bytes;
  double handler_cpu = 0;
  for (int i = 0; i < 2000; ++i) {
    const double c0 = CpuMicros(CLOCK_THREAD_CPUTIME_ID);
    auto s0 = std::chrono::steady_clock::now();
    google::protobuf::Arena arena;  // as the service allocates each call's response
    auto* resp = google::protobuf::Arena::CreateMessage<v1::GetOnlineFeaturesResponse>(&arena);
    const bool ok = server.Get(hundred, resp).ok();
    auto s1 = std::chrono::steady_clock::now();
    handler_cpu += CpuMicros(CLOCK_THREAD_CPUTIME_ID) - c0;
    if (!ok || !resp->SerializeToString(&bytes)) std::abort();
    auto s2 = std::chrono::steady_clock::now();
    v1::GetOnlineFeaturesResponse parsed;
    if (!parsed.ParseFromString(bytes)) std::abort();
    auto s3 = std::chrono::steady_clock::now();
    handler.micros.push_back(std::chrono::duration<double, std::micro>(s1 - s0).count());
    serialize.micros.push_back(std::chrono::duration<double, std::micro>(s2 - s1).count());
    parse.micros.push_back(std::chrono::duration<double, std::micro>(s3 - s2).count());
  }
  std::printf("in process, 100 entities x 50 features (%zu bytes): handler p50 %.3f ms p99 %.3f "
              "ms, CPU %.0f us/call; serialize p50 %.3f ms; client parse p50 %.3f ms\n",
              bytes.size(), handler.Percentile(0.5) / 1000, handler.Percentile(0.99) / 1000,
              handler_cpu / 2000, serialize.Percentile(0.5) / 1000, parse.Percentile(0.5) / 1000);
}

// The gRPC figures against 127.0.0.1:port. `server_pid` > 0: the server is
// that process, and its CPU per call is reported next to the client's.
void MeasureRpc(int port, int64_t entities, double seconds, pid_t server_pid) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::FeatureService::NewStub(channel);
  auto echo_stub = ::mlopstest::echo::v1::EchoService::NewStub(channel);
  auto online_call = [&](const v1::GetOnlineFeaturesRequest& req) {
    return [&stub, &req] {
      grpc::ClientContext ctx;
      // The response on an arena, as a careful client does: parsing 5000
      // Values into heap messages was the client's largest cost (malloc
      // and free in perf), on the same 2 cores as the server.
      google::protobuf::Arena arena;
      auto* resp = google::protobuf::Arena::CreateMessage<v1::GetOnlineFeaturesResponse>(&arena);
      return stub->GetOnlineFeatures(&ctx, req, resp).ok();
    };
  };
  const v1::GetOnlineFeaturesRequest one = MakeRequest(1, entities);
  const v1::GetOnlineFeaturesRequest hundred = MakeRequest(100, entities);
  v1::GetOnlineFeaturesResponse sample;
  {
    grpc::ClientContext ctx;
    if (!stub->GetOnlineFeatures(&ctx, one, &sample).ok()) std::abort();
  }
  ::mlopstest::echo::v1::EchoRequest echo_req;
  echo_req.set_message(std::string(sample.ByteSizeLong(), 'x'));
  auto echo_call = [&] {
    grpc::ClientContext ctx;
    ::mlopstest::echo::v1::EchoResponse resp;
    return echo_stub->Echo(&ctx, echo_req, &resp).ok();
  };
  std::printf("views 5 x 10 features, %lld entities each; response %zu bytes (1 entity)%s\n",
              static_cast<long long>(entities), sample.ByteSizeLong(),
              server_pid > 0 ? "; server in its own process" : "");
  // One phase: wall latencies, and CPU per call (the process's; split: the
  // client's and the server's apart).
  auto phase = [&](const char* name, int threads, const std::function<bool()>& call) {
    Latencies lat;
    double cpu = 0;
    const double server0 = server_pid > 0 ? ProcessCpuMicros(server_pid) : 0;
    const double rate = Drive(threads, seconds, threads == 1 ? &lat : nullptr, call, &cpu);
    const double calls = rate * seconds;
    std::string cpu_text = server_pid > 0
        ? "client CPU " + std::to_string(static_cast<int>(cpu)) + " us/call, server CPU " +
              std::to_string(static_cast<int>((ProcessCpuMicros(server_pid) - server0) /
                                              std::max(1.0, calls))) + " us/call"
        : "CPU " + std::to_string(static_cast<int>(cpu)) + " us/call (client + server)";
    if (threads == 1) {
      std::printf("%s, concurrency 1: p50 %.3f ms p90 %.3f ms p99 %.3f ms (%.0f req/s), %s\n",
                  name, lat.Percentile(0.5) / 1000, lat.Percentile(0.9) / 1000,
                  lat.Percentile(0.99) / 1000, rate, cpu_text.c_str());
    } else {
      std::printf("%s, concurrency %d: %.0f req/s, %s\n", name, threads, rate, cpu_text.c_str());
    }
    return rate;
  };
  Drive(1, 0.5, nullptr, online_call(one));  // warm up
  phase("online 1 entity x 50 features", 1, online_call(one));
  phase("online 100 entities x 50 features", 1, online_call(hundred));
  phase("echo same payload (1 entity)", 1, echo_call);
  const double r32 = phase("online 1 entity x 50 features", 32, online_call(one));
  const double e32 = phase("echo same payload", 32, echo_call);
  std::printf("concurrency 32: online %.0f req/s, echo %.0f req/s, ratio %.2f\n", r32, e32,
              r32 / e32);
}

int Main(int argc, char** argv) {
  const int64_t entities = argc > 1 ? std::atoll(argv[1]) : 20000;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  const bool split = argc > 3 && std::string(argv[3]) == "split";
  OnlineViews online;
  {
    ThreadPool pool(2);  // joined before any fork
    for (int k = 0; k < 5; ++k) online.Put(BuildView(k, entities, &pool));
  }
  if (!split) {
    Server server(&online);
    MeasureInProcess(*server.online_server, MakeRequest(100, entities));
    MeasureRpc(server.port, entities, seconds, 0);
    server.grpc_server->Shutdown();
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
    server.grpc_server->Shutdown();
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
