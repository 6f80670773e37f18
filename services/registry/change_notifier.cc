#include "services/registry/change_notifier.h"

namespace mlops::registry {

void ChangeNotifier::Notify() {
  absl::MutexLock lock(&mu_);
  ++version_;
}

uint64_t ChangeNotifier::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

bool ChangeNotifier::Ready(uint64_t seen) const { return shut_down_ || version_ != seen; }

bool ChangeNotifier::Wait(uint64_t seen, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  struct Arg {
    const ChangeNotifier* self;
    uint64_t seen;
  } arg{this, seen};
  mu_.AwaitWithTimeout(absl::Condition(
                           +[](Arg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS { return a->self->Ready(a->seen); },
                           &arg),
                       timeout);
  return !shut_down_;
}

void ChangeNotifier::Shutdown() {
  absl::MutexLock lock(&mu_);
  shut_down_ = true;
}

bool ChangeNotifier::shut_down() const {
  absl::MutexLock lock(&mu_);
  return shut_down_;
}

}  // namespace mlops::registry
