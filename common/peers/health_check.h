#pragma once
// Client side of the standard grpc.health.v1 service (CLI, tests): ask once, or
// poll until a server reports SERVING (tensorflow/serving's WaitForServerReady,
// not a sleep).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"

namespace mlops {

using HealthStatus = ::grpc::health::v1::HealthCheckResponse::ServingStatus;

// One Check(service) call with the given deadline: the reported status, or
// the RPC's error (e.g. NotFound for a service the server does not know,
// Unavailable when nothing listens).
absl::StatusOr<HealthStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                         const std::string& service = "",
                                         absl::Duration deadline = absl::Seconds(1));

// Polls Check(service) at `address` ("127.0.0.1:50051") every 50 ms until it
// answers SERVING (OK) or `timeout` passes (DeadlineExceeded, with the last
// answer). `credentials` null = insecure.
absl::Status WaitForServing(const std::string& address, absl::Duration timeout,
                            const std::string& service = "",
                            std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

}  // namespace mlops
