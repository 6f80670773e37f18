#include "common/testing/grpc_test_server.h"

#include <chrono>
#include <utility>

#include "grpcpp/server_builder.h"
#include "grpcpp/support/channel_arguments.h"

namespace mlops {

absl::StatusOr<std::unique_ptr<GrpcTestServer>> GrpcTestServer::Start(
    std::vector<grpc::Service*> services, GrpcTestServerOptions options) {
  grpc::ServerBuilder builder;
  for (grpc::Service* service : services) {
    if (service == nullptr) return absl::InvalidArgumentError("null service");
    builder.RegisterService(service);
  }
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.experimental().SetInterceptorCreators(
      MakeInterceptorChain(options.interceptors, options.metrics));
  auto queues = std::make_unique<ServerQueues>(builder, services, 2, "test-cq");
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return absl::InternalError("in-process gRPC server did not start");
  std::unique_ptr<GrpcTestServer> out(
      new GrpcTestServer(std::move(queues), std::move(server), options.max_message_bytes));
  out->queues_->Start();
  return out;
}

GrpcTestServer::GrpcTestServer(std::unique_ptr<ServerQueues> queues,
                               std::unique_ptr<grpc::Server> server, int max_message_bytes)
    : queues_(std::move(queues)), server_(std::move(server)), max_message_bytes_(max_message_bytes) {}

GrpcTestServer::~GrpcTestServer() {
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  queues_->Stop();
}

std::shared_ptr<grpc::Channel> GrpcTestServer::InProcessChannel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_message_bytes_);
  args.SetMaxSendMessageSize(max_message_bytes_);
  return server_->InProcessChannel(args);
}

}  // namespace mlops
