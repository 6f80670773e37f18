#pragma once
// Feature view definitions: what a view computes from which dataset columns,
// their validation against the source dataset's schema, and the canonical
// fingerprint that tells an identical re-registration from a changed one.
// Plain structs and pure functions; thread-compatible.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "services/features/types.h"

namespace mlops::features {

// The platform's one naming rule for datasets, columns, views and features:
// [a-z][a-z0-9_]{0,62}.
bool IsValidName(std::string_view name);

// How a feature is computed from its source column.
//
// kRaw: the value of the latest event at or before the time ("latest row",
// as pandas merge_asof(direction="backward") picks it: a null in that row
// gives status NULL, it does not fall back to an older non-null value).
// Subject to the view's TTL.
//
// The others aggregate the non-null values of the events in the window
// (as_of - window, as_of]: an event exactly at as_of is in, one exactly at
// as_of - window is out (pandas rolling(window, closed="right")). Events are
// visited in event order (time, then ingestion order), so every result,
// floating point included, is a fixed function of the events.
//   kCount  number of non-null values (INT64; 0 for an empty window)
//   kSum    sum in event order (source type, BOOL sums as INT64 with
//           true = 1; NULL for an empty window; an INT64 sum that
//           overflows is NULL)
//   kMean   sum / count (DOUBLE; NULL when empty; BOOL as 0/1)
//   kMin, kMax  (source type; NULL when empty)
//   kStddev population standard deviation, two-pass: sqrt(sum((x - mean)^2)
//           / count) (DOUBLE; NULL when empty; 0 for one value)
//   kLast   the latest non-null value in the window (source type; NULL when
//           empty)
// The TTL does not apply to aggregations; their window bounds them.
enum class Aggregation : uint8_t {
  kRaw = 0,
  kCount = 1,
  kSum = 2,
  kMean = 3,
  kMin = 4,
  kMax = 5,
  kStddev = 6,
  kLast = 7,
};
std::string_view AggregationName(Aggregation aggregation);

// Longest accepted window and TTL: 3660 days.
inline constexpr int64_t kMaxDurationMicros = int64_t{3660} * 86400 * 1000000;
// Most features one view may define.
inline constexpr size_t kMaxFeaturesPerView = 1000;

struct FeatureSpec {
  std::string name;
  std::string source_column;
  Aggregation aggregation = Aggregation::kRaw;
  // Aggregations only (must be > 0); raw features leave it 0.
  int64_t window_micros = 0;
};

// One column of the source dataset's schema, as far as views care.
struct SourceColumn {
  std::string name;
  DataType type = DataType::kDouble;
  bool nullable = true;
};

struct SourceSchema {
  std::vector<SourceColumn> columns;
  // Index of the column with this name, or -1.
  int FindColumn(std::string_view name) const;
};

// A versioned feature view: name@version over a source dataset (following its
// new versions), keyed by an INT64 or STRING entity column, timed by a
// TIMESTAMP column.
struct FeatureViewDefinition {
  std::string name;
  // Assigned by the registry when the definition is stored; 0 before. Not
  // part of the fingerprint.
  int64_t version = 0;
  std::string entity_column;
  std::string event_time_column;
  std::string source_dataset;
  // Raw features older than this are EXPIRED: as_of - event_time > ttl
  // (so exactly ttl old is still valid, as merge_asof's tolerance). 0 = none.
  int64_t ttl_micros = 0;
  std::vector<FeatureSpec> features;

  // OK, or InvalidArgument naming the field: bad names, duplicate feature
  // names, missing columns, wrong types (entity not INT64/STRING, event time
  // not TIMESTAMP, sum/mean/stddev on non-numeric, min/max on STRING/BOOL),
  // windows <= 0 or too long, a window on a raw feature, TTL < 0 or too long,
  // no features or too many.
  absl::Status Validate(const SourceSchema& schema) const;

  // An unambiguous text encoding of every field but `version`. Feature order
  // matters (it is the output column order).
  std::string CanonicalEncoding() const;
  // Lowercase hex sha256 of CanonicalEncoding(): equal iff the definitions
  // compute the same thing; a changed fingerprint means a new version.
  std::string Fingerprint() const;
};

// The type of a feature's values given its aggregation and source type.
DataType FeatureOutputType(Aggregation aggregation, DataType source_type);

}  // namespace mlops::features
