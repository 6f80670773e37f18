#pragma once
// DatasetFollower: follows every dataset's new versions through ingestion's
// WatchDatasetVersions and fires the NEW_DATASET_VERSION triggers that follow
// that dataset (TriggerManager::FireForDatasetVersion). Owns one thread and
// one stream; reconnects with backoff (1 s doubling to 30 s), resuming after
// the last sequence seen per dataset. The resume points live in memory:
// versions committed while the training service is down are not fired (a
// FireTrigger with dataset_version_id starts them by hand). Does not own the
// channel or the TriggerManager. Start/Stop from one thread.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "common/peers/peer_channel.h"
#include "grpcpp/client_context.h"
#include "services/training/trigger_manager.h"

namespace mlops::training {

class DatasetFollower {
 public:
  DatasetFollower(const PeerChannel* ingestion, TriggerManager* triggers)
      : ingestion_(ingestion), triggers_(triggers) {}
  ~DatasetFollower() { Stop(); }

  void Start();
  void Stop();
  // Versions handled so far (for tests and logs).
  int64_t versions_seen() const { return versions_seen_.load(); }

 private:
  void Loop();
  // One stream until it breaks or Stop(); true if it delivered anything.
  bool WatchOnce();

  const PeerChannel* ingestion_;
  TriggerManager* triggers_;
  std::atomic<int64_t> versions_seen_{0};
  std::map<std::string, int64_t> after_sequence_;  // the loop thread's own

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* live_ ABSL_GUARDED_BY(mu_) = nullptr;  // the open stream's context
  std::thread thread_;
};

}  // namespace mlops::training
