#include "services/registry/rollout_state.h"

#include "absl/strings/str_cat.h"

namespace mlops::registry {
namespace {

bool Finished(RolloutState s) {
  return s == RolloutState::kCompleted || s == RolloutState::kRolledBack ||
         s == RolloutState::kSuperseded;
}

}  // namespace

const char* RolloutStateName(RolloutState state) {
  switch (state) {
    case RolloutState::kPending: return "PENDING";
    case RolloutState::kInProgress: return "IN_PROGRESS";
    case RolloutState::kCompleted: return "COMPLETED";
    case RolloutState::kRolledBack: return "ROLLED_BACK";
    case RolloutState::kSuperseded: return "SUPERSEDED";
  }
  return "UNKNOWN";
}

const char* DeploymentEventName(DeploymentEventType type) {
  switch (type) {
    case DeploymentEventType::kRolloutStarted: return "ROLLOUT_STARTED";
    case DeploymentEventType::kStepAdvanced: return "STEP_ADVANCED";
    case DeploymentEventType::kRolloutCompleted: return "ROLLOUT_COMPLETED";
    case DeploymentEventType::kRolledBack: return "ROLLED_BACK";
    case DeploymentEventType::kLoadFailed: return "LOAD_FAILED";
    case DeploymentEventType::kManualRollout: return "MANUAL_ROLLOUT";
  }
  return "UNKNOWN";
}

int AuditEventFor(DeploymentEventType type) {
  switch (type) {
    case DeploymentEventType::kRolloutStarted: return 14;
    case DeploymentEventType::kStepAdvanced: return 15;
    case DeploymentEventType::kRolloutCompleted: return 16;
    case DeploymentEventType::kRolledBack: return 17;
    case DeploymentEventType::kManualRollout: return 18;
    case DeploymentEventType::kLoadFailed: return 19;
  }
  return 0;
}

absl::StatusOr<RolloutRecord> ApplyDeploymentEvent(const RolloutRecord& current,
                                                   const DeploymentEvent& event,
                                                   int64_t now_micros) {
  RolloutRecord next = current;
  next.updated_at_micros = now_micros;
  auto refuse = [&](const std::string& why) {
    return absl::FailedPreconditionError(absl::StrCat(
        "rollout ", current.rollout_id, " is ", RolloutStateName(current.state), ": ", why));
  };
  if (event.type == DeploymentEventType::kLoadFailed) return next;  // audit only
  if (Finished(current.state)) return refuse("it is finished");
  switch (event.type) {
    case DeploymentEventType::kRolloutStarted:
      if (current.state != RolloutState::kPending) return refuse("it has started already");
      next.state = RolloutState::kInProgress;
      return next;
    case DeploymentEventType::kStepAdvanced:
      if (current.state != RolloutState::kInProgress) return refuse("it has not started");
      if (event.step <= current.current_step) {
        return refuse(absl::StrCat("step ", event.step, " does not move past step ",
                                   current.current_step));
      }
      next.current_step = event.step;
      return next;
    case DeploymentEventType::kRolloutCompleted:
      next.state = RolloutState::kCompleted;
      return next;
    case DeploymentEventType::kRolledBack:
      next.state = RolloutState::kRolledBack;
      next.reason = event.reason;
      return next;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("type: ", DeploymentEventName(event.type), " does not move a rollout"));
  }
}

int64_t CurrentPrimary(const std::optional<RolloutRecord>& current, int64_t production_version) {
  if (current.has_value() && !Finished(current->state)) return current->primary_version;
  return production_version;
}

absl::Status CheckManualRolloutEligible(const ManualRollout& rollout, Stage candidate_stage,
                                        int64_t production_version) {
  const int64_t candidate = rollout.candidate_version;
  if (candidate == rollout.primary_version) {
    return absl::FailedPreconditionError(absl::StrCat(
        "candidate_version ", candidate, " is already the primary of endpoint \"",
        rollout.endpoint, "\""));
  }
  if (rollout.shadow) {
    if (candidate_stage != Stage::kStaging && candidate_stage != Stage::kProduction) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a SHADOW needs a STAGING or PRODUCTION candidate; version ", candidate, " is ",
          StageName(candidate_stage)));
    }
    return absl::OkStatus();
  }
  if (candidate != production_version) {
    return absl::FailedPreconditionError(absl::StrCat(
        "candidate_version ", candidate, " is ", StageName(candidate_stage),
        ", not the model's PRODUCTION version (",
        production_version == 0 ? std::string("none") : absl::StrCat(production_version),
        "): promote it through the gate first (RequestTransition)"));
  }
  return absl::OkStatus();
}

}  // namespace mlops::registry
