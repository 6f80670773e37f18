#pragma once
// Follows the registry's WatchDeployments stream and reconciles every
// endpoint message into the EndpointManager (a promotion starts the
// endpoint's configured rollout here). Reconnects with backoff when the
// stream breaks (a fresh snapshot follows). Owns its thread (Start/Stop).
// Thread-safe.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/peers/peer_channel.h"
#include "grpcpp/client_context.h"
#include "services/gateway/endpoint_manager.h"

namespace mlops::gateway {

class DeploymentWatcher {
 public:
  // Neither owned; both outlive the watcher.
  DeploymentWatcher(const PeerChannel* registry, EndpointManager* endpoints, std::string watcher_id,
                    std::function<int64_t()> now_micros);
  ~DeploymentWatcher();

  void Start();
  void Stop();
  bool connected() const { return connected_.load(); }
  int64_t last_update_micros() const { return last_update_.load(); }
  int64_t applied() const { return applied_.load(); }

 private:
  void Run();
  void WatchOnce();

  const PeerChannel* const registry_;
  EndpointManager* const endpoints_;
  const std::string watcher_id_;
  const std::function<int64_t()> now_micros_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  grpc::ClientContext* active_ = nullptr;  // the open stream's context, for Stop
  std::thread thread_;
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> last_update_{0};
  std::atomic<int64_t> applied_{0};
};

}  // namespace mlops::gateway
