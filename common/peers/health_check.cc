#include "common/peers/health_check.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace mlops {

absl::StatusOr<HealthStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                         const std::string& service, absl::Duration deadline) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(deadline));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response.status();
}

absl::Status WaitForServing(const std::string& address, absl::Duration timeout,
                            const std::string& service,
                            std::shared_ptr<grpc::ChannelCredentials> credentials) {
  // Short reconnect backoff: the server may not listen yet, and gRPC's default
  // backoff (1 s growing to 120 s) would outlast the poll.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  auto channel = grpc::CreateCustomChannel(
      address, credentials ? credentials : grpc::InsecureChannelCredentials(), args);
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no answer";
  while (absl::Now() < deadline) {
    absl::StatusOr<HealthStatus> health = CheckHealth(channel, service, absl::Milliseconds(500));
    if (health.ok() && *health == grpc::health::v1::HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    last = health.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(*health)
                       : health.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(address, " not SERVING after ",
                                                  absl::FormatDuration(timeout),
                                                  "; last answer: ", last));
}

}  // namespace mlops
