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
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return absl::InternalError("in-process gRPC server did not start");
  return std::unique_ptr<GrpcTestServer>(
      new GrpcTestServer(std::move(server), options.max_message_bytes));
}

GrpcTestServer::GrpcTestServer(std::unique_ptr<grpc::Server> server, int max_message_bytes)
    : server_(std::move(server)), max_message_bytes_(max_message_bytes) {}

GrpcTestServer::~GrpcTestServer() {
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
}

std::shared_ptr<grpc::Channel> GrpcTestServer::InProcessChannel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_message_bytes_);
  args.SetMaxSendMessageSize(max_message_bytes_);
  return server_->InProcessChannel(args);
}

}  // namespace mlops
