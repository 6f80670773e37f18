#pragma once

// Builds a model version's reference from a SetReferenceRequest's inline
// rows or inline profile: the DatasetProfile (common/stats
// ColumnProfileBuilder) and a uniform sample (fixed seed) of raw values per
// numeric column, up to a cap. Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/monitoring/v1/monitoring.pb.h"
#include "services/monitoring/window_drift.h"

namespace mlops::monitoring {

inline constexpr int kMaxReferenceRows = 100'000;

struct BuiltReference {
  common::v1::DatasetProfile profile;
  std::vector<std::pair<std::string, std::vector<double>>> samples;  // feature -> values
};

// INVALID_ARGUMENT naming the row and column for values not matching the
// schema, a bad schema, or too many rows. `max_samples` <= 0 keeps none.
absl::StatusOr<BuiltReference> ReferenceFromRows(const v1::InlineRows& rows, int64_t max_samples);

// INVALID_ARGUMENT when a numeric column has no histogram edges.
absl::Status ValidateReferenceProfile(const common::v1::DatasetProfile& profile);

// The drift computation's view of a stored reference.
absl::StatusOr<ReferenceData> ReferenceDataOf(
    const v1::Reference& reference,
    const std::vector<std::pair<std::string, std::vector<double>>>& samples);

}  // namespace mlops::monitoring
