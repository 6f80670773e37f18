#include "common/server/health_service.h"

#include <optional>

namespace mlops {

namespace hv1 = ::grpc::health::v1;

void HealthService::SetServingStatus(const std::string& service, bool serving) {
  absl::MutexLock lock(&mu_);
  serving_[service] = serving;
  changed_.SignalAll();
}

HealthService::Status HealthService::StatusLocked(const std::string& service) const {
  auto it = serving_.find(service);
  if (it == serving_.end()) return hv1::HealthCheckResponse::SERVICE_UNKNOWN;
  return it->second ? hv1::HealthCheckResponse::SERVING : hv1::HealthCheckResponse::NOT_SERVING;
}

grpc::Status HealthService::Check(grpc::ServerContext* /*ctx*/, const hv1::HealthCheckRequest* req,
                                  hv1::HealthCheckResponse* resp) {
  absl::MutexLock lock(&mu_);
  const Status status = StatusLocked(req->service());
  if (status == hv1::HealthCheckResponse::SERVICE_UNKNOWN) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "service \"" + req->service() + "\" unknown");
  }
  resp->set_status(status);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* ctx, const hv1::HealthCheckRequest* req,
                                  grpc::ServerWriter<hv1::HealthCheckResponse>* writer) {
  std::optional<Status> sent;
  absl::MutexLock lock(&mu_);
  while (!ctx->IsCancelled()) {
    const Status now = StatusLocked(req->service());
    if (sent != now) {
      hv1::HealthCheckResponse update;
      update.set_status(now);
      mu_.Unlock();
      const bool written = writer->Write(update);
      mu_.Lock();
      if (!written) break;  // the client went away
      sent = now;
      continue;
    }
    changed_.WaitWithTimeout(&mu_, kCancelCheck);
  }
  return grpc::Status(grpc::StatusCode::CANCELLED, "health watch ended");
}

}  // namespace mlops
