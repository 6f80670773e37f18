#include "services/gateway/bench/gateway_stack.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/auth/authorizer.h"
#include "common/metrics/rpc_metrics.h"
#include "common/server/grpc_server.h"
#include "prometheus/registry.h"
#include "services/gateway/bench/echo_servers.h"
#include "services/gateway/bench/feature_server.h"
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

struct GatewayPeers::Parts {
  testing::FakeRegistry registry;
  testing::FakeMonitoring monitoring;
  std::unique_ptr<testing::LoopbackServer> server;
};

GatewayPeers::GatewayPeers() : parts_(std::make_unique<Parts>()) {}
GatewayPeers::~GatewayPeers() = default;
int GatewayPeers::port() const { return parts_->server->port(); }

absl::StatusOr<std::unique_ptr<GatewayPeers>> GatewayPeers::Start(const std::string& model_json,
                                                                  int cols) {
  std::unique_ptr<GatewayPeers> out(new GatewayPeers());
  Parts& p = *out->parts_;
  p.registry.AddVersion("bench", 1, model_json, testing::TestSignature(cols), true);
  p.registry.SetEndpoint("bench_ep", "bench");
  absl::StatusOr<std::unique_ptr<testing::LoopbackServer>> server =
      testing::LoopbackServer::Start({&p.registry, &p.monitoring}, "peers");
  if (!server.ok()) return server.status();
  p.server = std::move(*server);
  return out;
}

// Declaration order = build order (destroyed in reverse).
struct GatewayStack::Parts {
  std::unique_ptr<GatewayPeers> peers;           // unless options.peers_port > 0
  std::unique_ptr<PeerChannel> peers_channel;    // to the peers (registry and monitoring)
  testing::FakeFeatures features;
  std::unique_ptr<testing::LoopbackServer> features_server;
  std::unique_ptr<FeatureServer> real_features;  // when options.real_features
  std::unique_ptr<PeerChannel> remote_features;  // when options.features_port > 0
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
  QueueEchoService echo;
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
  int peers_port = o.peers_port;
  if (peers_port <= 0) {
    absl::StatusOr<std::unique_ptr<GatewayPeers>> peers = GatewayPeers::Start(o.model_json, o.cols);
    if (!peers.ok()) return peers.status();
    p.peers = std::move(*peers);
    peers_port = p.peers->port();
  }
  {
    PeerChannelOptions po;
    po.address = absl::StrCat("127.0.0.1:", peers_port);
    absl::StatusOr<std::unique_ptr<PeerChannel>> peer = PeerChannel::Create("peers", po);
    if (!peer.ok()) return peer.status();
    p.peers_channel = std::move(*peer);
  }
  const PeerChannel* features_peer = nullptr;
  if (o.features_port > 0) {
    PeerChannelOptions po;
    po.address = absl::StrCat("127.0.0.1:", o.features_port);
    absl::StatusOr<std::unique_ptr<PeerChannel>> peer = PeerChannel::Create("features", po);
    if (!peer.ok()) return peer.status();
    p.remote_features = std::move(*peer);
    features_peer = p.remote_features.get();
  } else if (o.real_features) {
    absl::StatusOr<std::unique_ptr<FeatureServer>> real = FeatureServer::Start(o.cols, 1000, o.busy_poll_us);
    if (!real.ok()) return real.status();
    p.real_features = std::move(*real);
    features_peer = p.real_features->peer();
  } else {
    auto features = testing::LoopbackServer::Start({&p.features}, "features");
    if (!features.ok()) return features.status();
    p.features_server = std::move(*features);
    features_peer = p.features_server->peer();
  }

  p.rpc_metrics = std::make_unique<RpcMetrics>(p.prom);
  p.metrics = std::make_unique<GatewayMetrics>(&p.prom);
  p.client = std::make_unique<RegistryClient>(p.peers_channel.get(), "bench");
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
        p.peers_channel.get(), lo, [m](int64_t n) { m->LogDropped(n); },
        [m](int64_t n) { m->LogSent(n); });
    p.logger->Start();
  }
  PredictorOptions po;
  po.now_micros = NowMicros;
  po.stream_lookups = o.stream_lookups;
  p.predictor = std::make_unique<Predictor>(p.endpoints.get(), features_peer,
                                            p.logger.get(), p.metrics.get(), po);
  p.service = std::make_unique<InferenceServiceImpl>(p.predictor.get(), p.endpoints.get(),
                                                     &p.authorizer, "bench", nullptr, nullptr,
                                                     o.self_recorded_metrics ? p.rpc_metrics.get()
                                                                             : nullptr);
  GrpcServerOptions so;
  so.service_name = "gateway";
  so.host = "127.0.0.1";
  so.shutdown_grace = absl::Seconds(1);
  so.busy_poll = absl::Microseconds(o.busy_poll_us);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(so, {p.service.get(), &p.echo}, p.rpc_metrics.get());
  if (!server.ok()) return server.status();
  p.server = std::move(*server);
  p.server->SetServing(true);
  return stack;
}

}  // namespace mlops::gateway::bench
