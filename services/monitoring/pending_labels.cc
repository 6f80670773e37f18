#include "services/monitoring/pending_labels.h"

namespace mlops::monitoring {

void PendingLabels::Erase(std::map<PendingLabelKey, int64_t>::iterator it) {
  by_expiry_.erase({it->second, it->first});
  if (--per_model_[it->first.model] == 0) per_model_.erase(it->first.model);
  expires_.erase(it);
}

std::vector<PendingLabelKey> PendingLabels::Add(const PendingLabelKey& key,
                                                int64_t expires_at_micros) {
  absl::MutexLock lock(&mu_);
  auto it = expires_.find(key);
  if (it != expires_.end()) Erase(it);
  expires_.emplace(key, expires_at_micros);
  by_expiry_.insert({expires_at_micros, key});
  ++per_model_[key.model];
  std::vector<PendingLabelKey> dropped;
  while (static_cast<int64_t>(expires_.size()) > max_pending_) {
    PendingLabelKey first = by_expiry_.begin()->second;
    Erase(expires_.find(first));
    dropped.push_back(std::move(first));
  }
  return dropped;
}

int PendingLabels::Resolve(const std::string& request_id, const std::string& model) {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const std::string& m : {model, std::string()}) {
    auto it = expires_.find(PendingLabelKey{request_id, m});
    if (it != expires_.end()) {
      Erase(it);
      ++n;
    }
    if (model.empty()) break;
  }
  return n;
}

std::vector<PendingLabelKey> PendingLabels::Expire(int64_t now_micros) {
  absl::MutexLock lock(&mu_);
  std::vector<PendingLabelKey> out;
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now_micros) {
    PendingLabelKey key = by_expiry_.begin()->second;
    Erase(expires_.find(key));
    out.push_back(std::move(key));
  }
  return out;
}

int64_t PendingLabels::CountFor(const std::string& model) const {
  absl::MutexLock lock(&mu_);
  int64_t n = 0;
  for (const std::string& m : {model, std::string()}) {
    auto it = per_model_.find(m);
    if (it != per_model_.end()) n += it->second;
    if (model.empty()) break;
  }
  return n;
}

int64_t PendingLabels::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(expires_.size());
}

}  // namespace mlops::monitoring
