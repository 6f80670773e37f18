#include "services/registry/manual_rollout_request.h"

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/rollout_spec_check.h"
#include "services/registry/rollout_state.h"

namespace mlops::registry {

absl::StatusOr<ManualRollout> ManualRolloutFromRequest(Registry& registry,
                                                       const v1::RecordDeploymentEventRequest& req,
                                                       std::string details_json) {
  if (req.spec().strategy() == v1::ROLLOUT_STRATEGY_UNSPECIFIED) {
    return absl::InvalidArgumentError("spec.strategy: required for MANUAL_ROLLOUT");
  }
  MLOPS_RETURN_IF_ERROR(CheckRolloutSpec(req.spec(), "spec"));
  if (!req.rollout_id().empty()) {
    return absl::InvalidArgumentError(
        "rollout_id: must be empty for MANUAL_ROLLOUT (the registry assigns one)");
  }
  MLOPS_ASSIGN_OR_RETURN(EndpointRecord endpoint, registry.GetEndpoint(req.endpoint()));
  MLOPS_ASSIGN_OR_RETURN(ModelRecord model, registry.GetModel(endpoint.model));
  MLOPS_ASSIGN_OR_RETURN(std::optional<RolloutRecord> current,
                         registry.GetCurrentRollout(req.endpoint()));
  ManualRollout out;
  out.endpoint = req.endpoint();
  out.spec = req.spec().SerializeAsString();
  out.shadow = req.spec().strategy() == v1::ROLLOUT_STRATEGY_SHADOW;
  out.primary_version = CurrentPrimary(current, model.production_version);
  if (out.primary_version == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model \"", model.name, "\" has no PRODUCTION version: endpoint \"", out.endpoint,
        "\" serves nothing to roll out from"));
  }
  if (req.primary_version() != 0 && req.primary_version() != out.primary_version) {
    return absl::FailedPreconditionError(absl::StrCat(
        "primary_version ", req.primary_version(), " is not the current primary of endpoint \"",
        out.endpoint, "\" (", out.primary_version, ")"));
  }
  out.candidate_version = req.candidate_version();
  out.expected_current_rollout = current ? current->rollout_id : "";
  out.reason = req.reason();
  out.details_json = std::move(details_json);
  return out;
}

}  // namespace mlops::registry
