#include "common/stats/data_type.h"

namespace mlops::stats {

std::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kInt64: return "int64";
    case DataType::kDouble: return "double";
    case DataType::kString: return "string";
    case DataType::kBool: return "bool";
    case DataType::kTimestamp: return "timestamp";
    case DataType::kUnspecified: break;
  }
  return "unspecified";
}

bool IsNumeric(DataType type) {
  return type == DataType::kInt64 || type == DataType::kDouble || type == DataType::kTimestamp ||
         type == DataType::kBool;
}

bool IsCategorical(DataType type) { return type == DataType::kString || type == DataType::kBool; }

}  // namespace mlops::stats
