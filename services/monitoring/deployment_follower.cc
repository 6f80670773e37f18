#include "services/monitoring/deployment_follower.h"

#include <algorithm>
#include <utility>

#include "common/log/log.h"

namespace mlops::monitoring {

namespace rv1 = ::mlops::registry::v1;

DeploymentFollower::DeploymentFollower(std::shared_ptr<grpc::Channel> registry,
                                       DeadlineContextFactory new_context,
                                       OnProduction on_production,
                                       DeploymentFollowerOptions options)
    : channel_(registry),
      stub_(rv1::RegistryService::NewStub(std::move(registry))),
      new_context_(std::move(new_context)),
      on_production_(std::move(on_production)),
      options_(std::move(options)) {}

DeploymentFollower::~DeploymentFollower() { Stop(); }

void DeploymentFollower::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void DeploymentFollower::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DeploymentFollower::Run() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  for (;;) {
    if (WatchOnce()) backoff = options_.min_backoff;
    connected_ = false;
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, backoff, [&] { return stopping_; })) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
    // The channel's own reconnection backoff grows to minutes while the
    // registry is down; ours is the one that counts.
    grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
  }
}

bool DeploymentFollower::WatchOnce() {
  // The stream lives until the registry goes or Stop cancels it.
  std::unique_ptr<grpc::ClientContext> ctx = new_context_(std::chrono::hours(24 * 365));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    active_ = ctx.get();
  }
  ++connections_;
  rv1::WatchDeploymentsRequest req;
  req.set_watcher_id(options_.watcher_id);
  std::unique_ptr<grpc::ClientReader<rv1::WatchDeploymentsResponse>> reader =
      stub_->WatchDeployments(ctx.get(), req);
  rv1::WatchDeploymentsResponse msg;
  bool received = false;
  while (reader->Read(&msg)) {
    if (!received) LogInfo("deployment_watch_connected", {{"watcher", options_.watcher_id}});
    received = true;
    connected_ = true;
    if (msg.has_model() && msg.model().production_version() > 0) {
      on_production_(msg.model().model(), msg.model().production_version());
    }
  }
  grpc::Status status = reader->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_ = nullptr;
  }
  // Logged once per outage, not at every reconnection attempt.
  if (status.error_code() != grpc::StatusCode::CANCELLED && (received || !logged_down_)) {
    LogWarn("deployment_watch_ended", {{"code", std::to_string(status.error_code())},
                                       {"message", status.error_message()}});
  }
  logged_down_ = !received || status.error_code() != grpc::StatusCode::CANCELLED;
  return received;
}

}  // namespace mlops::monitoring
