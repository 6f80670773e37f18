#pragma once

// Fans alert changes out to WatchAlerts streams. Each subscription has a
// bounded queue; a subscriber that falls behind by more than `max_queued`
// changes is marked overflowed (its stream ends UNAVAILABLE: reconnect).
// Close() (server drain) wakes every subscriber. Thread-safe (one mutex).

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "mlops/monitoring/v1/monitoring.pb.h"

namespace mlops::monitoring {

class AlertHub {
 public:
  struct Subscription;

  explicit AlertHub(size_t max_queued = 1000) : max_queued_(max_queued) {}

  std::shared_ptr<Subscription> Subscribe();
  void Unsubscribe(const std::shared_ptr<Subscription>& sub);
  void Publish(const v1::Alert& alert);
  void Close();

  enum class WaitResult { kAlert, kTimeout, kClosed, kOverflowed };
  // Waits up to `timeout` for the next change of `sub`.
  WaitResult Next(Subscription* sub, absl::Duration timeout, v1::Alert* out);

  struct Subscription {
    std::deque<v1::Alert> queue;
    bool overflowed = false;
  };

 private:
  const size_t max_queued_;
  absl::Mutex mu_;
  absl::CondVar changed_;
  std::set<std::shared_ptr<Subscription>> subs_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mlops::monitoring
