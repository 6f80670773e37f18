#pragma once
// How a gateway's report moves a rollout: pure decisions, no I/O, thread-safe.
//   STARTED:        PENDING -> IN_PROGRESS
//   STEP_ADVANCED:  IN_PROGRESS, step strictly greater than the current one
//   COMPLETED:      PENDING | IN_PROGRESS -> COMPLETED
//   ROLLED_BACK:    PENDING | IN_PROGRESS -> ROLLED_BACK (reason required)
//   LOAD_FAILED:    any state, audit only (reason required)
// A finished rollout (COMPLETED, ROLLED_BACK, SUPERSEDED) accepts no more
// moves: FAILED_PRECONDITION.

#include "absl/status/statusor.h"
#include "services/registry/registry_types.h"

namespace mlops::registry {

// The rollout after `event`, or FAILED_PRECONDITION / INVALID_ARGUMENT saying
// why the event does not apply. MANUAL_ROLLOUT is not a move of an existing
// rollout: INVALID_ARGUMENT here.
absl::StatusOr<RolloutRecord> ApplyDeploymentEvent(const RolloutRecord& current,
                                                   const DeploymentEvent& event,
                                                   int64_t now_micros);

// The version an endpoint serves as primary (as WatchDeployments tells the
// gateways): an unfinished rollout's primary, otherwise the model's
// production version.
int64_t CurrentPrimary(const std::optional<RolloutRecord>& current, int64_t production_version);

// Whether a manual rollout may run (proto rules): a SHADOW needs a STAGING or
// PRODUCTION candidate; CANARY, AB and BLUE_GREEN need the model's production
// version as candidate; never the primary itself. FAILED_PRECONDITION says why.
absl::Status CheckManualRolloutEligible(const ManualRollout& rollout, Stage candidate_stage,
                                        int64_t production_version);

const char* RolloutStateName(RolloutState state);
const char* DeploymentEventName(DeploymentEventType type);

// The audit event type recording a deployment event.
int AuditEventFor(DeploymentEventType type);

}  // namespace mlops::registry
