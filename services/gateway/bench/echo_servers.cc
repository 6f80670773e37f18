#include "services/gateway/bench/echo_servers.h"

#include <chrono>

#include "common/metrics/rpc_metrics.h"
#include "common/server/grpc_server.h"
#include "common/server/queue_unary_call.h"
#include "grpcpp/server_builder.h"
#include "prometheus/registry.h"

namespace mlops::gateway::bench {

grpc::ServerUnaryReactor* CallbackEchoService::Echo(grpc::CallbackServerContext* ctx,
                                                    const ::mlopstest::echo::v1::EchoRequest* req,
                                                    ::mlopstest::echo::v1::EchoResponse* resp) {
  resp->set_message(req->message());
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

// One Echo call (see QueueUnaryCall).
class QueueEchoService::Call final
    : public QueueUnaryCall<::mlopstest::echo::v1::EchoRequest, ::mlopstest::echo::v1::EchoResponse> {
 public:
  Call(QueueEchoService* service, grpc::ServerCompletionQueue* queue)
      : QueueUnaryCall(queue, &service->live_calls_), service_(service) {}

 private:
  void RequestCall() override {
    service_->RequestEcho(&ctx_, &request_, &responder_, queue(), queue(), this);
  }
  void Handle() override {
    ::mlopstest::echo::v1::EchoResponse response;
    response.set_message(request_.message());
    Answer(grpc::Status::OK, &response);
  }
  void Renew() override { (new Call(service_, queue()))->Arm(); }

  QueueEchoService* const service_;
};

void QueueEchoService::StartServing(CompletionQueueThreads* queues) {
  for (int q = 0; q < queues->size(); ++q) {
    for (int i = 0; i < 8; ++i) (new Call(this, queues->server_queue(q)))->Arm();
  }
}

// Declaration order = build order (destroyed in reverse).
struct EchoServer::Parts {
  CallbackEchoService echo;
  prometheus::Registry prom;
  std::unique_ptr<RpcMetrics> rpc_metrics;
  std::unique_ptr<GrpcServer> platform;  // kPlatform*
  std::unique_ptr<grpc::Server> bare;    // kBare
  int port = 0;
};

EchoServer::EchoServer() : parts_(std::make_unique<Parts>()) {}

EchoServer::~EchoServer() {
  if (parts_->platform != nullptr) parts_->platform->Shutdown();
  if (parts_->bare != nullptr) {
    parts_->bare->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
}

int EchoServer::port() const { return parts_->port; }

absl::StatusOr<std::unique_ptr<EchoServer>> EchoServer::Start(EchoServerKind kind) {
  std::unique_ptr<EchoServer> out(new EchoServer());
  Parts& p = *out->parts_;
  if (kind == EchoServerKind::kBare) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &p.port);
    builder.RegisterService(&p.echo);
    p.bare = builder.BuildAndStart();
    if (p.bare == nullptr || p.port == 0) {
      return absl::FailedPreconditionError("echo server: cannot listen on 127.0.0.1");
    }
    return out;
  }
  if (kind == EchoServerKind::kPlatform) p.rpc_metrics = std::make_unique<RpcMetrics>(p.prom);
  GrpcServerOptions so;
  so.service_name = "echo";
  so.host = "127.0.0.1";
  so.shutdown_grace = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(so, {&p.echo}, p.rpc_metrics.get());
  if (!server.ok()) return server.status();
  p.platform = std::move(*server);
  p.platform->SetServing(true);
  p.port = p.platform->port();
  return out;
}

}  // namespace mlops::gateway::bench
