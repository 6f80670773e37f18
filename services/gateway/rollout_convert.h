#pragma once
// Conversions between the rollout protos (mlops.registry.v1.RolloutSpec,
// mlops.inference.v1.Rollout / Endpoint) and the gateway's plain structs,
// with the validation of a spec. Pure functions; thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "mlops/inference/v1/inference.pb.h"
#include "mlops/registry/v1/registry.pb.h"
#include "services/gateway/endpoint_manager.h"
#include "services/gateway/rollout.h"

namespace mlops::gateway {

// InvalidArgument naming the field for a bad spec (strategy unspecified,
// percents outside (0, 100], canary steps not increasing or not ending at 100,
// windows under 1 s, negative thresholds, rates above 1, config not matching).
absl::StatusOr<RolloutPlan> PlanFromSpec(const registry::v1::RolloutSpec& spec);
absl::StatusOr<RolloutPlan> PlanFromSpecBytes(const std::string& bytes);

// An endpoint's desired state from a WatchDeployments message. A rollout
// whose spec does not parse is InvalidArgument.
absl::StatusOr<DesiredEndpoint> DesiredFromProto(const registry::v1::EndpointDeployment& d);

void RolloutToProto(const Serving& s, const AnalysisResult& analysis, const std::string& gateway_id,
                    inference::v1::Rollout* out);
void EndpointToProto(const Serving& s, inference::v1::Endpoint* out);

}  // namespace mlops::gateway
