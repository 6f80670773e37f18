#include "services/gateway/bench/gateway_stack.h"

#include <chrono>

#include "common/auth/authorizer.h"
#include "common/metrics/rpc_metrics.h"
#include "common/server/grpc_server.h"
#include "common/testing/echo_service.h"
#include "prometheus/registry.h"
#include "services/gateway/gateway_service.h"
#include "services/gateway/metrics.h"
#include "services/gateway/prediction_logger.h"
#include "services/gateway/registry_client.h"
#include "services/gateway/rollout_convert.h"
#include "services/gateway/testing/fake_peers.h"
#include "services/gateway/testing/memory_endpoint_store.h"

namespace mlops::gateway::bench {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Declaration order = build order (destroyed in reverse).
struct GatewayStack::Parts {
  testing::FakeRegistry registry;
  testing::FakeFeatures features;
  testing::FakeMonitoring monitoring;
  std::unique_ptr<testing::LoopbackServer> registry_server, features_server, monitoring_server;
  prometheus::Registry prom;
  std::unique_ptr<RpcMetrics> rpc_metrics;
  std::unique_ptr<GatewayMetrics> metrics;
  std::unique_ptr<RegistryClient> client;
  std::unique_ptr<XgbModelLoader> loader;
  std::unique_ptr<ModelCache> cache;
  testing::MemoryEndpointStore store;
  std::unique_ptr<EndpointManager> endpoints;
  std::unique_ptr<PredictionLogger> logger;
  std::unique_ptr<Predictor> predictor;
  Authorizer authorizer = Authorizer::Disabled();
  std::unique_ptr<InferenceServiceImpl> service;
  TestEchoService echo;
  std::unique_ptr<GrpcServer> server;
};

GatewayStack::GatewayStack() : parts_(std::make_unique<Parts>()) {}

GatewayStack::~GatewayStack() {
  if (parts_->server != nullptr) parts_->server->Shutdown();
  if (parts_->logger != nullptr) parts_->logger->Stop();
}

int GatewayStack::port() const { return parts_->server->port(); }

absl::StatusOr<std::unique_ptr<GatewayStack>> GatewayStack::Start(const GatewayStackOptions& o) {
  std::unique_ptr<GatewayStack> stack(new GatewayStack());
  Parts& p = *stack->parts_;
  p.registry.AddVersion("bench", 1, o.model_json, testing::TestSignature(o.cols), true);
  p.registry.SetEndpoint("bench_ep", "bench");
  auto registry = testing::LoopbackServer::Start({&p.registry}, "registry");
  auto features = testing::LoopbackServer::Start({&p.features}, "features");
  auto monitoring = testing::LoopbackServer::Start({&p.monitoring}, "monitoring");
  if (!registry.ok()) return registry.status();
  if (!features.ok()) return features.status();
  if (!monitoring.ok()) return monitoring.status();
  p.registry_server = std::move(*registry);
  p.features_server = std::move(*features);
  p.monitoring_server = std::move(*monitoring);

  p.rpc_metrics = std::make_unique<RpcMetrics>(p.prom);
  p.metrics = std::make_unique<GatewayMetrics>(&p.prom);
  p.client = std::make_unique<RegistryClient>(p.registry_server->peer(), "bench");
  p.loader = std::make_unique<XgbModelLoader>(o.flat_trees);
  p.cache = std::make_unique<ModelCache>(p.client.get(), p.loader.get(), 16, NowMicros);
  EndpointManagerOptions eo;
  eo.now_micros = NowMicros;
  eo.parse_plan = PlanFromSpecBytes;
  p.endpoints = std::make_unique<EndpointManager>(p.cache.get(), p.client.get(), p.client.get(),
                                                  &p.store, p.metrics.get(), eo);
  if (o.prediction_log) {
    GatewayMetrics* m = p.metrics.get();
    PredictionLoggerOptions lo;
    lo.source = "bench";
    p.logger = std::make_unique<PredictionLogger>(
        p.monitoring_server->peer(), lo, [m](int64_t n) { m->LogDropped(n); },
        [m](int64_t n) { m->LogSent(n); });
    p.logger->Start();
  }
  PredictorOptions po;
  po.now_micros = NowMicros;
  p.predictor = std::make_unique<Predictor>(p.endpoints.get(), p.features_server->peer(),
                                            p.logger.get(), p.metrics.get(), po);
  p.service = std::make_unique<InferenceServiceImpl>(p.predictor.get(), p.endpoints.get(),
                                                     &p.authorizer, "bench");
  GrpcServerOptions so;
  so.service_name = "gateway";
  so.host = "127.0.0.1";
  so.shutdown_grace = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(so, {p.service.get(), &p.echo}, p.rpc_metrics.get());
  if (!server.ok()) return server.status();
  p.server = std::move(*server);
  p.server->SetServing(true);
  return stack;
}

}  // namespace mlops::gateway::bench
