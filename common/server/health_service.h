#pragma once
// HealthService: the standard gRPC health service (grpc.health.v1.Health)
// on gRPC's synchronous API, which GrpcServer serves instead of gRPC's
// default one. Why: in gRPC 1.51 the default one is written with the
// callback API, whose two "nexting" threads then take part in polling
// every socket of the process and hand each event on to another thread
// (of a queue-driven service, say): in an echo server on a completion
// queue that one thread drains, gRPC's health service alone took context
// switches per call from 1.0 to 3.0 and CPU per call up by about 70 %
// (see CompletionQueueThreads).
// Check answers the status of "" or of a service set here (NOT_FOUND for
// others). Watch sends the status (SERVICE_UNKNOWN for a service not set)
// and then every change, until the client goes away or the server cancels
// the call (at its shutdown grace deadline): it looks for cancellation
// every kCancelCheck. Thread-safe.

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace mlops {

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  static constexpr absl::Duration kCancelCheck = absl::Milliseconds(100);

  void SetServingStatus(const std::string& service, bool serving);

  grpc::Status Check(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::health::v1::HealthCheckResponse* resp) override;
  grpc::Status Watch(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;
  Status StatusLocked(const std::string& service) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  absl::CondVar changed_;
  std::map<std::string, bool> serving_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops
