#pragma once
// EndpointStore in memory (benchmark and tests without Postgres); can be
// told to fail. Thread-safe.

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "services/gateway/endpoint_store.h"

namespace mlops::gateway::testing {

class MemoryEndpointStore final : public EndpointStore {
 public:
  absl::Status Save(const EndpointRecord& record) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_.ok()) return fail_;
    records_[record.endpoint] = record;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<EndpointRecord>> LoadAll() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_.ok()) return fail_;
    std::vector<EndpointRecord> out;
    for (const auto& [name, r] : records_) out.push_back(r);
    return out;
  }
  absl::Status ClaimRolloutStart(
      const std::string& endpoint, const std::string& token, int64_t now_micros,
      const std::function<absl::Status(const RolloutStartView&)>& decide) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_.ok()) return fail_;
    Claim& claim = claims_[endpoint];
    RolloutStartView view;
    view.claim_token = claim.token;
    view.claimed_at_micros = claim.at_micros;
    view.claimed_rollout_id = claim.rollout_id;
    for (const auto& [name, r] : records_) {
      if (!r.rollout) continue;
      if (r.rollout->rollout_id == claim.rollout_id) view.claimed_rollout_state = r.rollout->state;
      if (name == endpoint) {
        view.current_rollout_id = r.rollout->rollout_id;
        view.current_rollout_state = r.rollout->state;
      }
    }
    absl::Status decided = decide(view);
    if (decided.ok()) claim = Claim{token, now_micros, ""};
    return decided;
  }
  absl::Status FinishRolloutStart(const std::string& endpoint, const std::string& token,
                                  const std::string& rollout_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_.ok()) return fail_;
    Claim& claim = claims_[endpoint];
    if (claim.token != token) return absl::OkStatus();
    if (rollout_id.empty()) {
      claim = Claim();
    } else {
      claim.rollout_id = rollout_id;
    }
    return absl::OkStatus();
  }
  void Fail(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(s);
  }

 private:
  std::mutex mu_;
  absl::Status fail_;
  struct Claim {
    std::string token;
    int64_t at_micros = 0;
    std::string rollout_id;
  };
  std::map<std::string, EndpointRecord> records_;
  std::map<std::string, Claim> claims_;  // endpoint -> its rollout start claim
};

}  // namespace mlops::gateway::testing
