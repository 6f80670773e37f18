#include "services/gateway/deployment_watcher.h"

#include <chrono>

#include "common/log/log.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "services/gateway/rollout_convert.h"

namespace mlops::gateway {

namespace rv1 = ::mlops::registry::v1;

DeploymentWatcher::DeploymentWatcher(const PeerChannel* registry, EndpointManager* endpoints,
                                     std::string watcher_id, std::function<int64_t()> now_micros)
    : registry_(registry),
      endpoints_(endpoints),
      watcher_id_(std::move(watcher_id)),
      now_micros_(std::move(now_micros)) {}

DeploymentWatcher::~DeploymentWatcher() { Stop(); }

void DeploymentWatcher::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void DeploymentWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeploymentWatcher::Run() {
  std::chrono::milliseconds backoff(200);
  for (;;) {
    WatchOnce();
    connected_ = false;
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, backoff, [&] { return stopping_; })) return;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

void DeploymentWatcher::WatchOnce() {
  auto stub = rv1::RegistryService::NewStub(registry_->channel());
  std::unique_ptr<grpc::ClientContext> ctx = registry_->NewContext(std::chrono::hours(24 * 365));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    active_ = ctx.get();
  }
  rv1::WatchDeploymentsRequest req;
  req.set_watcher_id(watcher_id_);
  std::unique_ptr<grpc::ClientReader<rv1::WatchDeploymentsResponse>> reader =
      stub->WatchDeployments(ctx.get(), req);
  rv1::WatchDeploymentsResponse msg;
  while (reader->Read(&msg)) {
    connected_ = true;
    last_update_ = now_micros_();
    if (!msg.has_endpoint()) continue;
    absl::StatusOr<DesiredEndpoint> desired = DesiredFromProto(msg.endpoint());
    absl::Status s = desired.ok() ? endpoints_->ApplyDesired(*desired) : desired.status();
    if (!s.ok()) {
      LogWarn("deployment_not_applied",
              {{"endpoint", msg.endpoint().endpoint()}, {"status", s.ToString()}});
    } else {
      ++applied_;
    }
  }
  grpc::Status status = reader->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = nullptr;
  }
  if (status.error_code() != grpc::StatusCode::CANCELLED) {
    LogWarn("deployment_watch_ended", {{"code", std::to_string(status.error_code())},
                                       {"message", status.error_message()}});
  }
}

}  // namespace mlops::gateway
