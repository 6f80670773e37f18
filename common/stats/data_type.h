#pragma once
// The type of a column or value, numbered like mlops.common.v1.DataType so the
// service layer converts with a static_cast. Shared by every service that
// profiles data (ingestion, monitoring).

#include <string_view>

namespace mlops::stats {

enum class DataType {
  kUnspecified = 0,
  kInt64 = 1,
  kDouble = 2,
  kString = 3,
  kBool = 4,
  kTimestamp = 5,  // microseconds since the Unix epoch, UTC
};

// "int64", "double", "string", "bool", "timestamp" or "unspecified".
std::string_view DataTypeName(DataType type);

// INT64, DOUBLE, TIMESTAMP (as micros) and BOOL (as 0/1) have moments,
// quantiles and a histogram.
bool IsNumeric(DataType type);

// STRING and BOOL have top categories.
bool IsCategorical(DataType type);

}  // namespace mlops::stats
