#pragma once
// RFC 3339 timestamps <-> microseconds since the Unix epoch (UTC).
// Pure functions; thread-safe.
//
// Accepted: YYYY-MM-DD('T'|'t'|' ')hh:mm:ss[.fraction](Z|z|+hh:mm|-hh:mm|+hhmm|-hhmm)
//   - year 0001..9999, real calendar days (leap years), hour 00..23, minute and
//     second 00..59 (no leap second 60);
//   - the fraction has 1..9 digits; digits beyond microseconds are truncated
//     (towards the past);
//   - a zone is required: a timestamp without one is ambiguous and rejected.
// Not accepted: dates without a time, week or ordinal dates, epoch numbers
// (the CSV reader has an explicit option for integer micros).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mlops::ingestion {

// InvalidArgument naming what is wrong ("month 13 out of range", "missing time
// zone (Z or +hh:mm)"), without repeating the input.
absl::StatusOr<int64_t> ParseRfc3339Micros(std::string_view text);

// Always "YYYY-MM-DDThh:mm:ss[.ffffff]Z" (fraction only when non-zero). Years
// outside 0001..9999 are printed as their number of micros: "@<micros>".
std::string FormatRfc3339Micros(int64_t micros);

}  // namespace mlops::ingestion
