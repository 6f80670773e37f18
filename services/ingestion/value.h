#pragma once
// Typed values, rows and schemas of the ingestion domain: plain structs
// mirroring mlops.common.v1.{Value,Row,Column,Schema}, with no protobuf in them
// (conversion lives in the service layer).

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/stats/data_type.h"

namespace mlops::ingestion {

using DataType = stats::DataType;

// Microseconds since the Unix epoch, UTC. A distinct type so that a timestamp
// never passes for an int64.
struct Timestamp {
  int64_t micros = 0;
  friend bool operator==(Timestamp a, Timestamp b) { return a.micros == b.micros; }
  friend bool operator!=(Timestamp a, Timestamp b) { return a.micros != b.micros; }
};

// One value; std::monostate is NULL. The alternatives' order is fixed
// (value.index() is used as a type tag): null, int64, double, string, bool,
// timestamp.
using Value = std::variant<std::monostate, int64_t, double, std::string, bool, Timestamp>;

// Positional: values[i] belongs to column i of the schema.
using Row = std::vector<Value>;

// Mirrors mlops.common.v1.ColumnRole (same numbering).
enum class ColumnRole {
  kUnspecified = 0,
  kEntityKey = 1,
  kEventTimestamp = 2,
  kFeature = 3,
  kLabel = 4,
  kMetadata = 5,
};

struct Column {
  std::string name;
  DataType type = DataType::kUnspecified;
  bool nullable = false;
  ColumnRole role = ColumnRole::kUnspecified;
  std::string description;
  // DOUBLE only: whether NaN and +/-inf are accepted.
  bool allow_non_finite = false;
};

// Shorthand for the common fields; the rest keep their defaults.
Column MakeColumn(std::string name, DataType type, bool nullable = false,
                  ColumnRole role = ColumnRole::kUnspecified);

struct Schema {
  std::vector<Column> columns;

  // Index of the column with this name, or -1.
  int IndexOf(std::string_view name) const;
};

inline bool IsNull(const Value& v) { return std::holds_alternative<std::monostate>(v); }

// The DataType a non-null value has (kUnspecified for NULL).
inline DataType TypeOf(const Value& v) {
  // The alternatives are declared in DataType order: index i is DataType i.
  return static_cast<DataType>(v.index());
}

// "entity_key", "event_timestamp", "feature", "label", "metadata" or
// "unspecified".
std::string_view ColumnRoleName(ColumnRole role);

// Human-readable rendering for reports and error messages: NULL, 42, 1.5, nan,
// true, 2024-01-31T12:00:00.000001Z, and strings quoted with C escapes,
// cut to `max_string_bytes` (then "..." is appended inside the quotes).
std::string ValueToString(const Value& v, size_t max_string_bytes = 100);

}  // namespace mlops::ingestion
