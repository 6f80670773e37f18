#pragma once
// File formats of `mlopsctl features ...`. Pure functions.

#include <string>

#include "absl/status/statusor.h"
#include "mlops/features/v1/features.pb.h"

namespace mlops::cli {

// A feature view definition in protobuf JSON: a FeatureViewSpec
// ({"name": ..., "sourceDataset": ..., "features": [...]}) or a
// RegisterFeatureViewRequest ({"spec": {...}}). The error names `source`.
absl::StatusOr<features::v1::RegisterFeatureViewRequest> ParseFeatureViewFile(
    const std::string& text, const std::string& source);

// A word of `features export`: "view" or "view@3" means every feature of it
// ("view:*"); refs with a ':' pass unchanged.
std::string ExportRef(const std::string& word);

}  // namespace mlops::cli
