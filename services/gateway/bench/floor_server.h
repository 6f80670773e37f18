#pragma once
// The benchmark's "floor": the least a C++ server can do to answer Predict
// with XGBoost. A callback-API (reactor) gRPC service whose handler reads the
// row's values in request order, calls XGBoost's in-place prediction (one
// thread per prediction, as the gateway does) and answers one score. No
// signature checks, routing, metrics or logging. Thread-safe; owns its
// booster and server.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"

namespace mlops::gateway::bench {

class FloorServer {
 public:
  // Serves `model_json` (XGBoost JSON) on 127.0.0.1 at a free port.
  static absl::StatusOr<std::unique_ptr<FloorServer>> Start(const std::string& model_json,
                                                            int cols);
  ~FloorServer();
  int port() const { return port_; }

 private:
  class Service;
  FloorServer() = default;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace mlops::gateway::bench
