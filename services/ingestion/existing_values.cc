#include "services/ingestion/existing_values.h"

#include "services/ingestion/version_hash.h"

namespace mlops::ingestion {

void InMemoryExistingValues::Add(std::string_view column, const Value& value) {
  std::string key;
  AppendCanonicalValue(value, &key);
  by_column_[std::string(column)].insert(std::move(key));
}

absl::StatusOr<std::vector<bool>> InMemoryExistingValues::Contains(
    std::string_view column, const std::vector<Value>& values) {
  std::vector<bool> found(values.size(), false);
  const auto it = by_column_.find(std::string(column));
  if (it == by_column_.end()) return found;
  std::string key;
  for (size_t i = 0; i < values.size(); ++i) {
    key.clear();
    AppendCanonicalValue(values[i], &key);
    found[i] = it->second.contains(key);
  }
  return found;
}

}  // namespace mlops::ingestion
