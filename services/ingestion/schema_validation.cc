#include "services/ingestion/schema_validation.h"

#include <cmath>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/ingestion/names.h"
#include "services/ingestion/utf8.h"

namespace mlops::ingestion {
namespace {

absl::Status ColumnError(const Column& c, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("column \"", c.name, "\": ", std::string(what)));
}

bool KnownType(DataType t) {
  return t == DataType::kInt64 || t == DataType::kDouble || t == DataType::kString ||
         t == DataType::kBool || t == DataType::kTimestamp;
}

bool KnownRole(ColumnRole r) {
  return static_cast<int>(r) >= static_cast<int>(ColumnRole::kUnspecified) &&
         static_cast<int>(r) <= static_cast<int>(ColumnRole::kMetadata);
}

std::string TypeName(DataType t) { return std::string(stats::DataTypeName(t)); }

// Checks the role-specific rules of one column; the counters count the
// columns with each role seen so far.
absl::Status ValidateRole(const Column& c, int* entity_keys, int* event_timestamps) {
  if (!KnownRole(c.role)) {
    return ColumnError(c, absl::StrCat("unknown role ", static_cast<int>(c.role)));
  }
  if (c.role == ColumnRole::kEntityKey) {
    if (++*entity_keys > 1) return ColumnError(c, "a schema has at most one entity_key column");
    if (c.type != DataType::kInt64 && c.type != DataType::kString) {
      return ColumnError(c, absl::StrCat("entity_key must be int64 or string, not ", TypeName(c.type)));
    }
    if (c.nullable) return ColumnError(c, "entity_key must not be nullable");
  }
  if (c.role == ColumnRole::kEventTimestamp) {
    if (++*event_timestamps > 1) {
      return ColumnError(c, "a schema has at most one event_timestamp column");
    }
    if (c.type != DataType::kTimestamp) {
      return ColumnError(c, absl::StrCat("event_timestamp must be timestamp, not ", TypeName(c.type)));
    }
    if (c.nullable) return ColumnError(c, "event_timestamp must not be nullable");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSchema(const Schema& schema) {
  if (schema.columns.empty()) return absl::InvalidArgumentError("schema has no columns");
  if (schema.columns.size() > kMaxColumns) {
    return absl::InvalidArgumentError(absl::StrCat("schema has ", schema.columns.size(),
                                                   " columns; at most ", kMaxColumns, " allowed"));
  }
  absl::flat_hash_map<std::string, size_t> index;
  int entity_keys = 0;
  int event_timestamps = 0;
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const Column& c = schema.columns[i];
    if (absl::Status s = ValidateName(absl::StrCat("column ", i, " name"), c.name); !s.ok()) return s;
    const auto [it, inserted] = index.emplace(c.name, i);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate column name \"", c.name,
                                                     "\" (columns ", it->second, " and ", i, ")"));
    }
    if (!KnownType(c.type)) {
      return ColumnError(c, "type is unspecified; expected int64, double, string, bool or timestamp");
    }
    if (c.allow_non_finite && c.type != DataType::kDouble) {
      return ColumnError(c, absl::StrCat("allow_non_finite applies to double columns only, not ",
                                         TypeName(c.type)));
    }
    if (absl::Status s = ValidateRole(c, &entity_keys, &event_timestamps); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateValue(const Column& column, const Value& value) {
  // Fast path (the common case): the expected alternative, finite, valid text.
  if (TypeOf(value) == column.type) {
    if (const double* d = std::get_if<double>(&value); d != nullptr) {
      if (std::isfinite(*d)) return absl::OkStatus();
    } else if (const std::string* s = std::get_if<std::string>(&value); s != nullptr) {
      if (IsValidUtf8(*s)) return absl::OkStatus();
    } else {
      return absl::OkStatus();
    }
  }
  if (IsNull(value)) {
    if (column.nullable) return absl::OkStatus();
    return ColumnError(column, "NULL not allowed (column is not nullable)");
  }
  const DataType type = TypeOf(value);
  if (type != column.type) {
    return ColumnError(column, absl::StrCat("expected ", TypeName(column.type), ", got ",
                                            TypeName(type)));
  }
  if (const double* d = std::get_if<double>(&value); d != nullptr && !std::isfinite(*d)) {
    if (column.allow_non_finite) return absl::OkStatus();
    const char* what = std::isnan(*d) ? "NaN" : (*d > 0 ? "+inf" : "-inf");
    return ColumnError(column, absl::StrCat(what, " not allowed (allow_non_finite is off)"));
  }
  if (const std::string* s = std::get_if<std::string>(&value); s != nullptr) {
    const size_t bad = FindInvalidUtf8(*s);
    if (bad != std::string_view::npos) {
      return ColumnError(column, absl::StrCat("invalid UTF-8 at byte ", bad));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRow(const Schema& schema, const Row& row, int64_t row_index) {
  if (row.size() != schema.columns.size()) {
    return absl::InvalidArgumentError(absl::StrCat("row ", row_index, ": has ", row.size(),
                                                   " values, schema has ", schema.columns.size(),
                                                   " columns"));
  }
  for (size_t i = 0; i < row.size(); ++i) {
    absl::Status s = ValidateValue(schema.columns[i], row[i]);
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("row ", row_index, ", ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace mlops::ingestion
