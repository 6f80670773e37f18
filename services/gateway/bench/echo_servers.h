#pragma once
// Empty echo servers for the gateway benchmark's transport baselines: the
// echo on the gateway's own server uses the completion-queue API, as its
// Predict does (QueueEchoService); the study's echoes, a callback-API Echo
// (it answers on the gRPC thread that delivered the request), served by a bare
// grpc::ServerBuilder server or by the platform's GrpcServer (health,
// reflection, thread quota, keepalive; with or without the RPC-metrics
// interceptor), so one run shows what the platform's server setup costs.
// Thread-safe; each EchoServer owns its server and service.

#include <memory>

#include "absl/status/statusor.h"
#include "common/server/queue_driven_service.h"
#include "mlopstest/echo/v1/echo.grpc.pb.h"

namespace mlops::gateway::bench {

// Echo answers the request's message at once on the calling gRPC thread.
// The streaming methods are not implemented. Stateless; thread-safe.
class CallbackEchoService final : public ::mlopstest::echo::v1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx,
                                 const ::mlopstest::echo::v1::EchoRequest* req,
                                 ::mlopstest::echo::v1::EchoResponse* resp) override;
};

// The same Echo through the completion-queue API on the server's queues, as
// the gateway's Predict is served (a QueueDrivenService: GrpcServer serves
// it). Thread-safe.
class QueueEchoService final
    : public ::mlopstest::echo::v1::EchoService::WithAsyncMethod_Echo<
          ::mlopstest::echo::v1::EchoService::Service>,
      public QueueDrivenService {
 public:
  void StartServing(CompletionQueueThreads* queues) override;
  void StopServing() override { live_calls_.WaitUntilNone(); }

 private:
  class Call;
  LiveCalls live_calls_;
};

enum class EchoServerKind {
  kBare,                // grpc::ServerBuilder with the echo only
  kPlatform,            // GrpcServer (as every service runs it) with the RPC-metrics interceptor
  kPlatformNoMetrics,   // GrpcServer without the interceptor
};

class EchoServer {
 public:
  // Serves a CallbackEchoService on 127.0.0.1 at a free port.
  static absl::StatusOr<std::unique_ptr<EchoServer>> Start(EchoServerKind kind);
  ~EchoServer();
  int port() const;

 private:
  struct Parts;
  EchoServer();
  std::unique_ptr<Parts> parts_;
};

}  // namespace mlops::gateway::bench
