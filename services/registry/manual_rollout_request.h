#pragma once
// A gateway's forwarded SetRollout (RecordDeploymentEvent of type
// MANUAL_ROLLOUT) -> the domain's ManualRollout: checks the spec and works out
// the endpoint's current primary from its current rollout. Thread-safe.
#include <string>

#include "absl/status/statusor.h"
#include "mlops/registry/v1/registry.pb.h"
#include "services/registry/registry.h"

namespace mlops::registry {

// INVALID_ARGUMENT for a bad or missing spec or reason; NOT_FOUND for an
// unknown endpoint; FAILED_PRECONDITION when `primary_version` is given and is
// not the endpoint's current primary.
absl::StatusOr<ManualRollout> ManualRolloutFromRequest(Registry& registry,
                                                       const v1::RecordDeploymentEventRequest& req,
                                                       std::string details_json);

}  // namespace mlops::registry
