#pragma once
// Distance between the distributions behind two profiles of the same column:
// the baseline (`expected`: a parent version, a training reference) and the
// new data (`actual`: a batch, a live window). Used by ingestion's
// distribution_distance expectation and by monitoring's drift checks, so both
// measure drift the same way. Pure function; thread-safe.
//
// Numeric columns compare histograms (equal, fixed edges) bin by bin with the
// underflow and overflow bins included. STRING columns compare category counts
// over the expected side's listed categories plus one "everything else" bin
// (other_category_count, and the actual side's unlisted values).

#include "absl/status/statusor.h"
#include "common/stats/column_profile.h"

namespace mlops::stats {

enum class DistanceMetric {
  kPsi = 0,            // PopulationStabilityIndex(expected, actual)
  kJensenShannon = 1,  // JensenShannonDistance, base 2, in [0, 1]
};

// FailedPrecondition when a side has nothing to compare (no finite values, no
// histogram, no categories); InvalidArgument when the profiles are of
// different types or their histogram edges differ.
absl::StatusOr<double> ProfileDistance(const ColumnProfile& expected, const ColumnProfile& actual,
                                       DistanceMetric metric);

}  // namespace mlops::stats
