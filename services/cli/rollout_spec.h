#pragma once
// `mlopsctl rollout set` options as a RolloutSpec. Pure.
//   --strategy canary|shadow|ab|blue_green
//   canary:     --steps 5,25,50,100  --window 30s (per step)  [--min_requests N]
//   shadow:     [--mirror 100] --window 30s [--min_agreement 0.95] [--promote]
//   ab:         --percent 50 --window 30s [--min_requests N]
//   blue_green: [--window 30s] [--keep_previous 10m]
//   thresholds: [--max_error_rate 0.05] [--max_p99 200ms] [--max_shift 0.2]
//               [--no_auto_rollback]

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/registry/v1/registry.pb.h"
#include "services/cli/args.h"

namespace mlops::cli {

// The option names RolloutSpecFromArgs reads (all take a value except
// --promote and --no_auto_rollback).
std::vector<std::string> RolloutSpecOptions();

// Errors name the option and say what is expected.
absl::StatusOr<registry::v1::RolloutSpec> RolloutSpecFromArgs(const CommandArgs& args);

}  // namespace mlops::cli
