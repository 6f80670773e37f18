#include "services/features/types.h"

namespace mlops::features {

std::string_view DataTypeName(DataType type) {
  switch (type) {
    case DataType::kInt64: return "INT64";
    case DataType::kDouble: return "DOUBLE";
    case DataType::kString: return "STRING";
    case DataType::kBool: return "BOOL";
    case DataType::kTimestamp: return "TIMESTAMP";
  }
  return "UNKNOWN";
}

std::string_view ValueStatusName(ValueStatus status) {
  switch (status) {
    case ValueStatus::kPresent: return "PRESENT";
    case ValueStatus::kNull: return "NULL";
    case ValueStatus::kExpired: return "EXPIRED";
    case ValueStatus::kEntityUnknown: return "ENTITY_UNKNOWN";
  }
  return "UNKNOWN";
}

size_t ValueVector::size() const {
  switch (type) {
    case DataType::kDouble: return doubles.size();
    case DataType::kString: return strings.size();
    default: return ints.size();
  }
}

void ValueVector::Resize(size_t n) {
  switch (type) {
    case DataType::kDouble: doubles.resize(n); break;
    case DataType::kString: strings.resize(n); break;
    default: ints.resize(n); break;
  }
}

Value ValueVector::Get(size_t i) const {
  switch (type) {
    case DataType::kInt64: return ints[i];
    case DataType::kDouble: return doubles[i];
    case DataType::kString: return strings[i];
    case DataType::kBool: return ints[i] != 0;
    case DataType::kTimestamp: return TimestampMicros{ints[i]};
  }
  return std::monostate{};
}

Value FeatureColumn::Get(size_t i) const {
  if (status[i] != ValueStatus::kPresent) return std::monostate{};
  return values.Get(i);
}

}  // namespace mlops::features
