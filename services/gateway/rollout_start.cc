#include "services/gateway/rollout_start.h"

#include "absl/strings/str_cat.h"

namespace mlops::gateway {

absl::Status DecideRolloutStart(const std::string& endpoint, const RolloutStartView& view,
                                bool replace_active, int64_t now_micros,
                                int64_t claim_ttl_micros) {
  if (replace_active) return absl::OkStatus();
  auto in_progress = [&](const std::string& rollout_id, const char* how) {
    return absl::FailedPreconditionError(absl::StrCat("endpoint \"", endpoint, "\" has rollout ",
                                                      rollout_id, " in progress", how,
                                                      " (set replace_active to replace it)"));
  };
  if (view.current_rollout_state && IsActive(*view.current_rollout_state)) {
    return in_progress(view.current_rollout_id, "");
  }
  if (view.claim_token.empty()) return absl::OkStatus();
  if (!view.claimed_rollout_id.empty() && view.claimed_rollout_state) {
    return IsActive(*view.claimed_rollout_state) ? in_progress(view.claimed_rollout_id, "")
                                                 : absl::OkStatus();
  }
  const int64_t age = now_micros - view.claimed_at_micros;
  if (age >= claim_ttl_micros) return absl::OkStatus();  // its starter died or gave up
  if (view.claimed_rollout_id.empty()) {
    return absl::AbortedError(absl::StrCat(
        "another SetRollout on endpoint \"", endpoint, "\" is being forwarded to the registry ",
        "(claimed ", age / 1000, " ms ago); retry, or set replace_active to replace it"));
  }
  return in_progress(view.claimed_rollout_id,
                     ", started through another gateway replica and not applied yet");
}

}  // namespace mlops::gateway
