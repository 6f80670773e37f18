#pragma once
// The shape rules of a RolloutSpec (proto comments). Pure; thread-safe.
#include <string>

#include "absl/status/status.h"
#include "mlops/registry/v1/registry.pb.h"

namespace mlops::registry {

// InvalidArgument naming the offending field under `field` (e.g.
// "config.promotion_rollout.canary.steps[1].percent"). UNSPECIFIED passes
// (an endpoint's "switch at once"); callers that need a strategy check it.
absl::Status CheckRolloutSpec(const v1::RolloutSpec& spec, const std::string& field);

}  // namespace mlops::registry
