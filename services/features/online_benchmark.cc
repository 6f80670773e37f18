// Online serving benchmark (a binary that prints figures; not a test).
//
//   features_online_benchmark [entities=20000] [seconds=3]
//
// 5 views x 10 features (2 raw + 8 windowed aggregations) over synthetic
// events, materialized with OnlineSnapshot into the service's in-memory
// catalog, served by the real FeatureServiceImpl / OnlineServer over gRPC on
// 127.0.0.1 (auth disabled), the client in the same process. Measures:
// 1 entity x 50 features at concurrency 1 (p50/p99), 100 entities x 50
// features at concurrency 1, and throughput at concurrency 32, next to an
// echo service returning a payload of the same size in the same run.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
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

int Main(int argc, char** argv) {
  const int64_t entities = argc > 1 ? std::atoll(argv[1]) : 20000;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  ThreadPool pool(2);
  OnlineViews online;
  for (int k = 0; k < 5; ++k) online.Put(BuildView(k, entities, &pool));
  ViewRegistry views(nullptr, nullptr, [] { return kStart + 720 * kHourMicros; });
  OnlineServer server(&online, &views, nullptr, 1000);
  Authorizer authorizer = Authorizer::Disabled();
  FeatureServiceDeps deps;
  deps.views = &views;
  deps.online = &server;
  deps.authorizer = &authorizer;
  FeatureServiceImpl service(deps);
  TestEchoService echo;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.RegisterService(&echo);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::FeatureService::NewStub(channel);
  auto echo_stub = ::mlopstest::echo::v1::EchoService::NewStub(channel);

  auto make_request = [&](int n) {
    v1::GetOnlineFeaturesRequest req;
    for (int k = 0; k < 5; ++k) req.add_feature_refs("v" + std::to_string(k) + ":*");
    for (int i = 0; i < n; ++i) {
      req.add_entity_rows()->add_values()->set_int64_value((i * 7919) % entities);
    }
    req.set_request_time_micros(kStart + 720 * kHourMicros);
    return req;
  };
  auto online_call = [&](const v1::GetOnlineFeaturesRequest& req) {
    return [&stub, &req] {
      grpc::ClientContext ctx;
      v1::GetOnlineFeaturesResponse resp;
      return stub->GetOnlineFeatures(&ctx, req, &resp).ok();
    };
  };
  const v1::GetOnlineFeaturesRequest one = make_request(1);
  const v1::GetOnlineFeaturesRequest hundred = make_request(100);
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
  std::printf("views 5 x 10 features, %lld entities each; response %zu bytes (1 entity)\n",
              static_cast<long long>(entities), sample.ByteSizeLong());
  // The server's own work for 100 entities, without transport or scheduling:
  // the handler, then serializing its response, then the client's parse.
  {
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
  Drive(1, 0.5, nullptr, online_call(one));  // warm up
  Latencies l1, l100, le;
  double c1 = 0, c100 = 0, ce = 0;  // process CPU (client + server) per call
  const double r1 = Drive(1, seconds, &l1, online_call(one), &c1);
  std::printf("online 1 entity x 50 features, concurrency 1: p50 %.3f ms p99 %.3f ms (%.0f req/s), "
              "CPU %.0f us/call\n",
              l1.Percentile(0.5) / 1000, l1.Percentile(0.99) / 1000, r1, c1);
  const double r100 = Drive(1, seconds, &l100, online_call(hundred), &c100);
  std::printf("online 100 entities x 50 features, concurrency 1: p50 %.3f ms p99 %.3f ms "
              "(%.0f req/s), CPU %.0f us/call\n",
              l100.Percentile(0.5) / 1000, l100.Percentile(0.99) / 1000, r100, c100);
  const double re1 = Drive(1, seconds, &le, echo_call, &ce);
  std::printf("echo same payload, concurrency 1: p50 %.3f ms p99 %.3f ms (%.0f req/s), "
              "CPU %.0f us/call\n",
              le.Percentile(0.5) / 1000, le.Percentile(0.99) / 1000, re1, ce);
  const double r32 = Drive(32, seconds, nullptr, online_call(one));
  const double e32 = Drive(32, seconds, nullptr, echo_call);
  std::printf("concurrency 32: online %.0f req/s, echo %.0f req/s, ratio %.2f\n", r32, e32,
              r32 / e32);
  grpc_server->Shutdown();
  return 0;
}

}  // namespace
}  // namespace mlops::features

int main(int argc, char** argv) { return mlops::features::Main(argc, argv); }
