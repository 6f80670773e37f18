#pragma once
// The gateway as main.cc assembles it, for the benchmark: the model cache,
// endpoint manager, predictor with Prometheus metrics and the prediction log,
// served by the platform's GrpcServer (RPC-metrics interceptor, thread quota)
// on 127.0.0.1; its peers are in-process fakes over loopback gRPC (registry
// with the model, features, monitoring). An empty echo service shares the
// server. Not thread-safe to build; the servers it owns are.

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mlops::gateway::bench {

struct GatewayStackOptions {
  std::string model_json;
  int cols = 30;
  bool prediction_log = true;  // false: no PredictionLogger (records dropped)
  bool flat_trees = true;      // false: XGBoost's in-place prediction only
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
