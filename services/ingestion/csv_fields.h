#pragma once
// Typed parsing of one CSV field's text (after unquoting) for a column.
// Pure functions; thread-safe. Errors are InvalidArgument messages without a
// position (the CSV reader adds `line:column: column "x": `):
//   "12x" is not an int64
//   "99999999999999999999" is out of int64 range
//   "yes" is not a bool (expected true, false, 1 or 0)
//   "2024-13-01T00:00:00Z" is not a timestamp: month 13 out of range
//
// Accepted text per type:
//   int64      optional sign, decimal digits; nothing else (no spaces, no "1.0")
//   double     decimal or scientific notation with optional sign; "nan",
//              "inf", "infinity" in any case with optional sign (the reader
//              then applies allow_non_finite); out-of-range values are errors
//   bool       true / false in any case, 1, 0
//   timestamp  RFC 3339 (timestamp.h); plain integers as microseconds since
//              the epoch only when `integer_timestamps_are_micros` is set
//   string     anything (UTF-8 is checked by the reader)

#include <string_view>

#include "absl/status/statusor.h"
#include "services/ingestion/value.h"

namespace mlops::ingestion {

absl::StatusOr<int64_t> ParseInt64Field(std::string_view text);
absl::StatusOr<double> ParseDoubleField(std::string_view text);
absl::StatusOr<bool> ParseBoolField(std::string_view text);
absl::StatusOr<Timestamp> ParseTimestampField(std::string_view text,
                                              bool integer_timestamps_are_micros);

// Dispatches on `type` (not kUnspecified); never returns NULL.
absl::StatusOr<Value> ParseTypedField(DataType type, std::string_view text,
                                      bool integer_timestamps_are_micros);

}  // namespace mlops::ingestion
