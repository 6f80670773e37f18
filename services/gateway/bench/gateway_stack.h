#pragma once
// The gateway as main.cc assembles it, for the benchmark: the model cache,
// endpoint manager, predictor with Prometheus metrics and the prediction log,
// served by the platform's GrpcServer (RPC-metrics interceptor, thread quota)
// on 127.0.0.1; its peers run in process over loopback gRPC: fakes of the
// registry (with the model) and monitoring, and the real feature service's
// online path (or a fake). An empty completion-queue-API echo (the API
// kind of Predict) shares the server. Not thread-safe to build; the servers it owns are.

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mlops::gateway::bench {

struct GatewayStackOptions {
  std::string model_json;
  int cols = 30;
  bool prediction_log = true;  // false: no PredictionLogger (records dropped)
  bool flat_trees = true;      // false: XGBoost's in-place prediction only
  // true: entity keys are looked up in the real feature service
  // (bench/feature_server.h, entities 0..999); false: in testing::FakeFeatures
  // (a synchronous fake on a bare gRPC server).
  bool real_features = true;
  // > 0: the feature service listens on 127.0.0.1:<features_port> (another
  // process); real_features is then ignored.
  int features_port = 0;
  // > 0: the registry and monitoring fakes listen on 127.0.0.1:<peers_port>
  // (GatewayPeers in another process); 0: they run in this process.
  int peers_port = 0;
  // true (as main.cc): Predict records its own RPC metrics and runs without
  // the interceptor; false: the RPC-metrics interceptor records it.
  bool self_recorded_metrics = true;
  // false: feature lookups are unary calls (PredictorOptions::stream_lookups).
  bool stream_lookups = true;
  // > 0: the gateway's server (and the feature server it starts, if any)
  // busy-polls its queues this long (GrpcServerOptions::busy_poll).
  int busy_poll_us = 0;
};

// The gateway's fake registry (serving model "bench"@1, production, for the
// endpoint "bench_ep", signature testing::TestSignature(cols)) and fake
// monitoring (receiving the prediction log), on one loopback server.
// Thread-safe once started.
class GatewayPeers {
 public:
  static absl::StatusOr<std::unique_ptr<GatewayPeers>> Start(const std::string& model_json,
                                                             int cols);
  ~GatewayPeers();
  int port() const;

 private:
  struct Parts;
  GatewayPeers();
  std::unique_ptr<Parts> parts_;
};

class GatewayStack {
 public:
  // The endpoint "bench_ep" serves model "bench"@1 (production) with the
  // signature testing::TestSignature(cols) (inputs fetched as "view:f<i>").
  static absl::StatusOr<std::unique_ptr<GatewayStack>> Start(const GatewayStackOptions& options);
  ~GatewayStack();
  int port() const;

 private:
  struct Parts;
  GatewayStack();
  std::unique_ptr<Parts> parts_;
};

}  // namespace mlops::gateway::bench
