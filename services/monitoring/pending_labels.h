#pragma once

// Labels whose prediction is not known yet, waiting until their TTL. Keyed
// by (request id, model) (model empty: the label joins any model's
// prediction). Bounded: beyond `max_pending` the entry expiring first is
// dropped and counted as expired. Thread-safe (one mutex); plain C++.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace mlops::monitoring {

struct PendingLabelKey {
  std::string request_id;
  std::string model;  // empty: any model
  bool operator<(const PendingLabelKey& o) const {
    return std::tie(request_id, model) < std::tie(o.request_id, o.model);
  }
};

class PendingLabels {
 public:
  explicit PendingLabels(int64_t max_pending = 1'000'000) : max_pending_(max_pending) {}

  // Adds (or re-arms) a pending label. Returns the keys dropped to stay
  // within the bound (counted as expired).
  std::vector<PendingLabelKey> Add(const PendingLabelKey& key, int64_t expires_at_micros);

  // A prediction with `request_id` of `model` was logged: removes the pending
  // labels it joins (the model's and the model-less one). Returns how many.
  int Resolve(const std::string& request_id, const std::string& model);

  // Removes and returns the labels whose TTL passed at `now_micros`.
  std::vector<PendingLabelKey> Expire(int64_t now_micros);

  // Pending labels scoped to `model` plus the model-less ones.
  int64_t CountFor(const std::string& model) const;
  int64_t size() const;

 private:
  void Erase(std::map<PendingLabelKey, int64_t>::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t max_pending_;
  mutable absl::Mutex mu_;
  std::map<PendingLabelKey, int64_t> expires_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<int64_t, PendingLabelKey>> by_expiry_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> per_model_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops::monitoring
