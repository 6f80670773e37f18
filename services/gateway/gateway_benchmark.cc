// gateway_benchmark: Predict over loopback gRPC against an empty echo
// service measured in the same run. Single-row Predict with 30 features
// inline (and by entity key through a loopback feature service) on a
// 100-tree depth-6 XGBoost model. Prints p50/p99 latency and req/s at
// concurrency 1 and 32, and at concurrency 1 with explanations. Bounded by a request count and a time limit; not a
// test.
//
//   gateway_benchmark [--requests N] [--seconds S]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/echo_service.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/server_builder.h"
#include "services/gateway/gateway_service.h"
#include "services/gateway/registry_client.h"
#include "services/gateway/rollout_convert.h"
#include "services/gateway/testing/fake_peers.h"
#include "services/gateway/testing/memory_endpoint_store.h"

namespace mlops::gateway {
namespace {

constexpr int kCols = 30;

struct Figures {
  double p50_ms = 0, p99_ms = 0, rps = 0;
  long ok = 0, failed = 0;
};

// `concurrency` threads, each calling `call` until `total` calls or `seconds` passed.
Figures Run(int concurrency, long total, double seconds, const std::function<bool()>& call) {
  std::atomic<long> next{0};
  std::atomic<long> failed{0};
  std::vector<std::vector<double>> lat(concurrency);
  const auto start = std::chrono::steady_clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      while (next.fetch_add(1) < total && std::chrono::steady_clock::now() < stop) {
        const auto t0 = std::chrono::steady_clock::now();
        if (!call()) ++failed;
        lat[t].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
    });
  }
  for (std::thread& th : threads) th.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Figures f;
  if (all.empty()) return f;
  f.p50_ms = all[all.size() / 2];
  f.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  f.failed = failed.load();
  f.ok = static_cast<long>(all.size()) - f.failed;
  f.rps = static_cast<double>(all.size()) / elapsed;
  return f;
}

void Print(const char* what, int concurrency, const Figures& f) {
  std::printf("%-34s c=%-3d p50 %.3f ms  p99 %.3f ms  %9.0f req/s  (%ld ok, %ld failed)\n", what,
              concurrency, f.p50_ms, f.p99_ms, f.rps, f.ok, f.failed);
}

int Main(int argc, char** argv) {
  long requests = 20000;
  double seconds = 15;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--requests") == 0) requests = std::atol(argv[i + 1]);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
  }
  absl::StatusOr<std::string> model = testing::TrainTestModel(kCols, 100, 6, 1);
  if (!model.ok()) {
    std::fprintf(stderr, "train: %s\n", model.status().ToString().c_str());
    return 1;
  }
  testing::FakeRegistry registry;
  testing::FakeFeatures features;
  registry.AddVersion("bench", 1, *model, testing::TestSignature(kCols), true);
  registry.SetEndpoint("bench_ep", "bench");
  auto registry_server = testing::LoopbackServer::Start({&registry}, "registry");
  auto features_server = testing::LoopbackServer::Start({&features}, "features");
  if (!registry_server.ok() || !features_server.ok()) return 1;

  auto now = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count();
  };
  RegistryClient client((*registry_server)->peer(), "bench");
  XgbModelLoader loader;
  ModelCache cache(&client, &loader, 4, now);
  testing::MemoryEndpointStore store;
  EndpointManagerOptions eo;
  eo.now_micros = now;
  eo.parse_plan = PlanFromSpecBytes;
  EndpointManager endpoints(&cache, &client, &client, &store, nullptr, eo);
  PredictorOptions po;
  po.now_micros = now;
  Predictor predictor(&endpoints, (*features_server)->peer(), nullptr, nullptr, po);
  Authorizer authorizer = Authorizer::Disabled();
  InferenceServiceImpl service(&predictor, &endpoints, &authorizer, "bench");
  TestEchoService echo;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  builder.RegisterService(&echo);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return 1;
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = inference::v1::InferenceService::NewStub(channel);
  auto echo_stub = ::mlopstest::echo::v1::EchoService::NewStub(channel);

  inference::v1::PredictRequest inline_req;
  inline_req.set_endpoint("bench_ep");
  for (int c = 0; c < kCols; ++c) inline_req.add_feature_names(absl::StrCat("f", c));
  auto* values = inline_req.add_rows()->mutable_features();
  for (int c = 0; c < kCols; ++c) values->add_values()->set_double_value(0.01 * c);
  inference::v1::PredictRequest key_req;
  key_req.set_endpoint("bench_ep");
  key_req.add_rows()->mutable_entity_key()->set_int64_value(42);

  auto predict = [&](const inference::v1::PredictRequest& req) {
    return [&stub, &req] {
      grpc::ClientContext ctx;
      inference::v1::PredictResponse resp;
      return stub->Predict(&ctx, req, &resp).ok() && resp.predictions_size() == 1;
    };
  };
  auto echo_call = [&] {
    grpc::ClientContext ctx;
    ::mlopstest::echo::v1::EchoRequest req;
    ::mlopstest::echo::v1::EchoResponse resp;
    req.set_message("x");
    return echo_stub->Echo(&ctx, req, &resp).ok();
  };
  if (!predict(inline_req)()) {  // loads and warms the model
    std::fprintf(stderr, "first Predict failed\n");
    return 1;
  }
  Run(4, 2000, 5, echo_call);  // warm both paths
  Run(4, 2000, 5, predict(inline_req));
  std::printf("gateway_benchmark: %d features, 100 trees depth 6, %ld requests or %.0f s per line\n",
              kCols, requests, seconds);
  for (int c : {1, 32}) {
    Print("echo (empty gRPC, same server)", c, Run(c, requests, seconds, echo_call));
    Print("Predict, 30 features inline", c, Run(c, requests, seconds, predict(inline_req)));
  }
  inference::v1::PredictRequest explain_req = inline_req;  // TreeSHAP costs a DMatrix per call
  explain_req.mutable_options()->set_explain(true);
  Print("Predict, inline + explain (SHAP)", 1, Run(1, requests, seconds, predict(explain_req)));
  Print("Predict, by entity key (features)", 1, Run(1, requests, seconds, predict(key_req)));
  Print("Predict, by entity key (features)", 32, Run(32, requests, seconds, predict(key_req)));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return 0;
}

}  // namespace
}  // namespace mlops::gateway

int main(int argc, char** argv) { return mlops::gateway::Main(argc, argv); }
