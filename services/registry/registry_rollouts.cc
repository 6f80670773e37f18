// Registry: gateways' reports about rollouts (see registry.h).
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/registry.h"
#include "services/registry/rollout_state.h"

namespace mlops::registry {

absl::StatusOr<DeploymentEventResult> Registry::RecordDeploymentEvent(const Principal& who,
                                                                      DeploymentEvent event) {
  if (event.type == DeploymentEventType::kManualRollout) {
    return absl::InvalidArgumentError("type: MANUAL_ROLLOUT goes through StartManualRollout");
  }
  if (event.rollout_id.empty()) return absl::InvalidArgumentError("rollout_id: required");
  if (event.step < 0) return absl::InvalidArgumentError("step: must be >= 0");
  if (!(event.candidate_percent >= 0 && event.candidate_percent <= 100)) {
    return absl::InvalidArgumentError("candidate_percent: must be in [0, 100]");
  }
  if ((event.type == DeploymentEventType::kRolledBack ||
       event.type == DeploymentEventType::kLoadFailed) &&
      event.reason.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: required for ", DeploymentEventName(event.type)));
  }
  AuditEntry audit = Audit(who, AuditEventFor(event.type), "", 0, event.reason);
  audit.details_json = event.details_json;
  MLOPS_ASSIGN_OR_RETURN(DeploymentEventResult result,
                         store_->RecordDeploymentEvent(event, std::move(audit)));
  if (!result.duplicate) {
    if (metrics_ != nullptr) metrics_->AuditEntries(AuditEventFor(event.type));
    Changed();
  }
  return result;
}

absl::StatusOr<DeploymentEventResult> Registry::StartManualRollout(const Principal& who,
                                                                   ManualRollout rollout) {
  if (rollout.reason.empty()) {
    return absl::InvalidArgumentError("reason: required for MANUAL_ROLLOUT");
  }
  if (rollout.candidate_version <= 0) {
    return absl::InvalidArgumentError("candidate_version: required for MANUAL_ROLLOUT");
  }
  AuditEntry audit =
      Audit(who, AuditEventFor(DeploymentEventType::kManualRollout), "", 0, rollout.reason);
  audit.details_json = rollout.details_json;
  MLOPS_ASSIGN_OR_RETURN(DeploymentEventResult result,
                         store_->StartManualRollout(rollout, std::move(audit)));
  if (metrics_ != nullptr) {
    metrics_->AuditEntries(AuditEventFor(DeploymentEventType::kManualRollout));
  }
  Changed();
  return result;
}

absl::StatusOr<std::optional<RolloutRecord>> Registry::GetCurrentRollout(
    const std::string& endpoint) {
  return store_->GetCurrentRollout(endpoint);
}

}  // namespace mlops::registry
