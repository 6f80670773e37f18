#pragma once

// Follows the registry's WatchDeployments stream (all models) and reports
// every model's production version, from the snapshot and from each change,
// to `on_production` (called on the follower's thread; it must not block
// long). When the stream breaks (registry restarted, killed, unreachable at
// start) it reconnects after a backoff (doubling from `min_backoff` to
// `max_backoff`, reset once a message arrives) and the fresh snapshot
// reports what changed meanwhile. Owns its thread (Start / Stop).
// Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "grpcpp/channel.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "services/monitoring/training_data_clients.h"

namespace mlops::monitoring {

struct DeploymentFollowerOptions {
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  std::string watcher_id = "monitoring";
};

class DeploymentFollower {
 public:
  using OnProduction = std::function<void(const std::string& model, int64_t version)>;

  DeploymentFollower(std::shared_ptr<grpc::Channel> registry, DeadlineContextFactory new_context,
                     OnProduction on_production, DeploymentFollowerOptions options = {});
  ~DeploymentFollower();
  DeploymentFollower(const DeploymentFollower&) = delete;
  DeploymentFollower& operator=(const DeploymentFollower&) = delete;

  void Start();
  void Stop();

  bool connected() const { return connected_.load(); }
  // Streams opened (the first, then each reconnection).
  int64_t connections() const { return connections_.load(); }

 private:
  void Run();
  // Returns whether any message arrived.
  bool WatchOnce();

  const std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<registry::v1::RegistryService::Stub> stub_;
  const DeadlineContextFactory new_context_;
  const OnProduction on_production_;
  const DeploymentFollowerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  grpc::ClientContext* active_ = nullptr;  // the open stream's context, for Stop
  std::thread thread_;
  bool logged_down_ = false;  // follower thread only
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> connections_{0};
};

}  // namespace mlops::monitoring
