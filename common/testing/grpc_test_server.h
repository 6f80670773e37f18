#pragma once
// GrpcTestServer: an in-process gRPC server for service tests (the real
// ServiceImpl over a fake store, called through InProcessChannel(): no port,
// no network). Queue-driven services (common/server/queue_driven_service.h)
// get two queues, as GrpcServer gives them by default.
//
//   MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcTestServer::Start({&service}));
//   auto stub = v1::RegistryService::NewStub(server->InProcessChannel());

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics/rpc_metrics.h"
#include "common/server/interceptors.h"
#include "common/server/queue_driven_service.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"

namespace mlops {

struct GrpcTestServerOptions {
  // Interceptors in order (e.g. auth), as in GrpcServerOptions.
  std::vector<std::shared_ptr<ServerInterceptorFactory>> interceptors;
  // Non-null: RPC metrics are recorded here (must outlive the server).
  RpcMetrics* metrics = nullptr;
  int max_message_bytes = 16 * 1024 * 1024;
};

// Owns the grpc::Server; not the services (they must outlive it).
// Thread-safe as grpc::Server is.
class GrpcTestServer {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcTestServer>> Start(
      std::vector<grpc::Service*> services, GrpcTestServerOptions options = {});
  ~GrpcTestServer();  // Shutdown with a 1 s grace
  GrpcTestServer(const GrpcTestServer&) = delete;
  GrpcTestServer& operator=(const GrpcTestServer&) = delete;

  // A new channel to the server (same max message size as the server).
  std::shared_ptr<grpc::Channel> InProcessChannel() const;
  grpc::Server* server() const { return server_.get(); }

 private:
  GrpcTestServer(std::unique_ptr<ServerQueues> queues, std::unique_ptr<grpc::Server> server,
                 int max_message_bytes);

  std::unique_ptr<ServerQueues> queues_;  // destroyed after the server
  std::unique_ptr<grpc::Server> server_;
  int max_message_bytes_;
};

}  // namespace mlops
