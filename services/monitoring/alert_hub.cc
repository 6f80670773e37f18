#include "services/monitoring/alert_hub.h"

#include "absl/time/clock.h"

namespace mlops::monitoring {

std::shared_ptr<AlertHub::Subscription> AlertHub::Subscribe() {
  auto sub = std::make_shared<Subscription>();
  absl::MutexLock lock(&mu_);
  subs_.insert(sub);
  return sub;
}

void AlertHub::Unsubscribe(const std::shared_ptr<Subscription>& sub) {
  absl::MutexLock lock(&mu_);
  subs_.erase(sub);
}

void AlertHub::Publish(const v1::Alert& alert) {
  absl::MutexLock lock(&mu_);
  for (const std::shared_ptr<Subscription>& s : subs_) {
    if (s->overflowed) continue;
    if (s->queue.size() >= max_queued_) {
      s->overflowed = true;
      s->queue.clear();
      continue;
    }
    s->queue.push_back(alert);
  }
  changed_.SignalAll();
}

void AlertHub::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  changed_.SignalAll();
}

AlertHub::WaitResult AlertHub::Next(Subscription* sub, absl::Duration timeout, v1::Alert* out) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  // Bounded by the deadline: each wait returns at the latest then.
  while (true) {
    if (closed_) return WaitResult::kClosed;
    if (sub->overflowed) return WaitResult::kOverflowed;
    if (!sub->queue.empty()) {
      *out = std::move(sub->queue.front());
      sub->queue.pop_front();
      return WaitResult::kAlert;
    }
    if (changed_.WaitWithDeadline(&mu_, deadline)) return WaitResult::kTimeout;
  }
}

}  // namespace mlops::monitoring
