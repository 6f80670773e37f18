#pragma once
// Plain value types of the feature service's domain: data types, typed
// scalars, entity keys, columnar batches (input rows) and feature columns
// (output values with a status each). No gRPC, protobuf or Postgres here; the
// service layer converts to and from mlops.common.v1 messages.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mlops::features {

// The type of a column or value; numbering follows mlops.common.v1.DataType.
enum class DataType : uint8_t {
  kInt64 = 1,
  kDouble = 2,
  kString = 3,
  kBool = 4,
  kTimestamp = 5,  // microseconds since the Unix epoch, UTC
};
std::string_view DataTypeName(DataType type);

// What a feature value is, as of a time.
enum class ValueStatus : uint8_t {
  kPresent = 1,        // a value
  kNull = 2,           // the governing event's value is null, or an empty
                       // window for aggregations that have no empty value
  kExpired = 3,        // the latest event is older than the view's TTL
  kEntityUnknown = 4,  // the entity has no event at or before the time
};
std::string_view ValueStatusName(ValueStatus status);

// A TIMESTAMP value, distinct from INT64 in a Value.
struct TimestampMicros {
  int64_t micros = 0;
  bool operator==(const TimestampMicros& o) const { return micros == o.micros; }
  bool operator!=(const TimestampMicros& o) const { return micros != o.micros; }
  bool operator<(const TimestampMicros& o) const { return micros < o.micros; }
};

// A typed scalar. std::monostate is NULL; mirrors mlops.common.v1.Value.
using Value =
    std::variant<std::monostate, int64_t, double, std::string, bool, TimestampMicros>;

// An entity key: views are keyed by an INT64 or a STRING column.
using EntityKey = std::variant<int64_t, std::string>;

// Values of one type, stored in the vector that fits the type: `ints` for
// INT64, TIMESTAMP and BOOL (0/1), `doubles` for DOUBLE, `strings` for STRING.
// The other two vectors stay empty. A plain struct; not thread-safe to mutate.
struct ValueVector {
  DataType type = DataType::kDouble;
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::vector<std::string> strings;

  explicit ValueVector(DataType t = DataType::kDouble) : type(t) {}
  size_t size() const;
  // Sizes the vector of this type to n (new elements are zero / empty).
  void Resize(size_t n);
  // The value at i as a Value (never NULL; nullness lives beside it).
  Value Get(size_t i) const;
};

// One column of a batch of input rows: values plus an optional null mask.
struct ColumnVector {
  ValueVector values;
  // Empty: no nulls. Otherwise one byte per row, 1 = NULL (the value slot
  // then holds a placeholder that is ignored).
  std::vector<uint8_t> nulls;

  explicit ColumnVector(DataType t = DataType::kDouble) : values(t) {}
  DataType type() const { return values.type; }
  size_t size() const { return values.size(); }
  bool IsNull(size_t i) const { return !nulls.empty() && nulls[i] != 0; }
};

// A chunk of rows in columnar form. Which column is which is defined by the
// consumer (e.g. positional against a dataset schema).
struct ColumnBatch {
  std::vector<ColumnVector> columns;
  int64_t num_rows = 0;
};

// One output column of feature values: a status per row and, where the
// status is kPresent, the value (other slots hold zero / empty).
struct FeatureColumn {
  ValueVector values;
  std::vector<ValueStatus> status;

  explicit FeatureColumn(DataType t = DataType::kDouble) : values(t) {}
  DataType type() const { return values.type; }
  size_t size() const { return status.size(); }
  void Resize(size_t n) {
    values.Resize(n);
    status.resize(n, ValueStatus::kNull);
  }
  // The value at row i, NULL (std::monostate) unless kPresent.
  Value Get(size_t i) const;
};

// A typed value with its status: what one lookup of one feature returns.
struct FeatureValue {
  ValueStatus status = ValueStatus::kNull;
  Value value;  // std::monostate unless status == kPresent
};

}  // namespace mlops::features
