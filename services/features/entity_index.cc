#include "services/features/entity_index.h"

#include <algorithm>

#include "absl/strings/string_view.h"

namespace mlops::features {
namespace {

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

int32_t EntityIndex::Intern(int64_t key) {
  auto [it, inserted] = int_ids_.try_emplace(key, static_cast<int32_t>(int_keys_.size()));
  if (inserted) int_keys_.push_back(key);
  return it->second;
}

int32_t EntityIndex::Intern(std::string_view key) {
  auto it = string_ids_.find(ToAbsl(key));
  if (it != string_ids_.end()) return it->second;
  const int32_t id = static_cast<int32_t>(string_keys_.size());
  string_ids_.emplace(std::string(key), id);
  string_keys_.emplace_back(key);
  return id;
}

int32_t EntityIndex::Find(int64_t key) const {
  auto it = int_ids_.find(key);
  return it == int_ids_.end() ? -1 : it->second;
}

int32_t EntityIndex::Find(std::string_view key) const {
  auto it = string_ids_.find(ToAbsl(key));
  return it == string_ids_.end() ? -1 : it->second;
}

int32_t EntityIndex::Find(const EntityKey& key) const {
  if (const int64_t* i = std::get_if<int64_t>(&key)) {
    return key_type_ == DataType::kInt64 ? Find(*i) : -1;
  }
  return key_type_ == DataType::kString ? Find(std::string_view(std::get<std::string>(key))) : -1;
}

void EntityIndex::FindAll(const ColumnVector& keys, std::vector<int32_t>* ids) const {
  const size_t n = keys.size();
  ids->resize(n);
  if (keys.type() != key_type_) {
    std::fill(ids->begin(), ids->end(), -1);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    if (keys.IsNull(i)) {
      (*ids)[i] = -1;
    } else if (key_type_ == DataType::kInt64) {
      constexpr size_t kPrefetchAhead = 16;
      if (i + kPrefetchAhead < n) Prefetch(keys.values.ints[i + kPrefetchAhead]);
      (*ids)[i] = Find(keys.values.ints[i]);
    } else {
      (*ids)[i] = Find(std::string_view(keys.values.strings[i]));
    }
  }
}

EntityKey EntityIndex::KeyAt(int32_t id) const {
  if (key_type_ == DataType::kInt64) return int_keys_[id];
  return string_keys_[id];
}

size_t EntityIndex::MemoryBytes() const {
  size_t bytes = int_ids_.capacity() * (sizeof(int64_t) + sizeof(int32_t) + 1) +
                 int_keys_.capacity() * sizeof(int64_t) +
                 string_ids_.capacity() * (sizeof(std::string) + sizeof(int32_t) + 1) +
                 string_keys_.capacity() * sizeof(std::string);
  for (const std::string& s : string_keys_) {
    if (s.capacity() > 15) bytes += 2 * (s.capacity() + 1);  // key and map copy
  }
  return bytes;
}

}  // namespace mlops::features
