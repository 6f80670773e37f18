#pragma once
// Legal stage moves of a model version (pure; thread-safe).
//   NONE -> STAGING, NONE -> PRODUCTION (unless staging is required),
//   STAGING -> PRODUCTION, STAGING -> NONE, any -> ARCHIVED,
//   ARCHIVED -> STAGING, ARCHIVED -> PRODUCTION (unless staging is required;
//   always a new gate run). Moving to the current stage is illegal.
#include "absl/status/status.h"
#include "services/registry/registry_types.h"

namespace mlops::registry {

// OK or FailedPrecondition naming both stages and the rule.
absl::Status CheckStageMove(Stage from, Stage to, bool staging_required);

// True when the move runs the target stage's gate (STAGING, PRODUCTION).
inline bool IsGated(Stage to) { return to == Stage::kStaging || to == Stage::kProduction; }

}  // namespace mlops::registry
