#pragma once
// Wakes deployment watchers of this replica when a change commits here, and
// ends their waits on drain. Watchers also poll the audit log on a timer, so
// changes committed by other registry replicas reach them too (within the
// poll interval). Thread-safe.
//
//   uint64_t seen = notifier.version();   // before reading the changes
//   ... read and send changes ...
//   if (!notifier.Wait(seen, absl::Milliseconds(250))) return;  // draining
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mlops::registry {

class ChangeNotifier {
 public:
  // A change committed on this replica.
  void Notify();
  // Increases with every Notify().
  uint64_t version() const;
  // Waits until version() != seen, the timeout passed or Shutdown() was
  // called. Returns false once shut down.
  bool Wait(uint64_t seen, absl::Duration timeout);
  // Ends every wait for good (drain).
  void Shutdown();
  bool shut_down() const;

 private:
  bool Ready(uint64_t seen) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mlops::registry
