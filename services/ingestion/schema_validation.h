#pragma once
// Checks of a schema and of rows against it. Pure functions; thread-safe.
//
// Schema rules: 1..kMaxColumns columns; names follow the naming rule and are
// unique; every type is specified; roles are known; at most one entity key
// (INT64 or STRING, not nullable) and at most one event timestamp (TIMESTAMP,
// not nullable); allow_non_finite only on DOUBLE columns. A dataset need not
// have an entity key (reference tables, lookups); feature views that join on
// one check for it themselves.
//
// Rows are numbered from 0 within a batch; errors name the row and column:
//   row 17, column "amount": NaN not allowed (allow_non_finite is off)

#include <cstdint>

#include "absl/status/status.h"
#include "services/ingestion/value.h"

namespace mlops::ingestion {

inline constexpr size_t kMaxColumns = 1000;

// InvalidArgument naming the column and the rule broken.
absl::Status ValidateSchema(const Schema& schema);

// One value against its column, without a row prefix: type (exact: an int64
// is not a double, a timestamp not an int64), NULL in a non-nullable column,
// NaN/+inf/-inf unless allowed, invalid UTF-8 in strings. Message like
// `column "amount": expected double, got string`.
absl::Status ValidateValue(const Column& column, const Value& value);

// Arity, then every value; the schema must have passed ValidateSchema.
// InvalidArgument like `row 17: has 3 values, schema has 4 columns` or
// `row 17, column "amount": NULL not allowed (column is not nullable)`.
absl::Status ValidateRow(const Schema& schema, const Row& row, int64_t row_index);

}  // namespace mlops::ingestion
