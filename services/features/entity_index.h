#pragma once
// EntityIndex: interns the entity keys of one view (all INT64 or all STRING)
// into dense ids 0..size()-1, in first-seen order, and finds them again in
// O(1). Lookups are const and safe from many threads once interning is done;
// Intern() is not thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "services/features/types.h"

namespace mlops::features {

class EntityIndex {
 public:
  // key_type must be kInt64 or kString.
  explicit EntityIndex(DataType key_type) : key_type_(key_type) {}

  DataType key_type() const { return key_type_; }
  size_t size() const { return key_type_ == DataType::kInt64 ? int_keys_.size() : string_keys_.size(); }

  // The id of the key, assigning the next one if it is new. The key's type
  // must be key_type().
  int32_t Intern(int64_t key);
  int32_t Intern(std::string_view key);

  // Hints that `key` will be interned or found soon (loads its hash slot).
  void Prefetch(int64_t key) const { int_ids_.prefetch(key); }

  // The id of the key, or -1 when it is unknown (or of the other type).
  int32_t Find(int64_t key) const;
  int32_t Find(std::string_view key) const;
  int32_t Find(const EntityKey& key) const;

  // Ids of every key of `keys` (an INT64 or STRING column; null keys and keys
  // of the wrong type give -1), written to ids[0..keys.size()).
  void FindAll(const ColumnVector& keys, std::vector<int32_t>* ids) const;

  // The key of id (0 <= id < size()).
  EntityKey KeyAt(int32_t id) const;
  int64_t IntKeyAt(int32_t id) const { return int_keys_[id]; }
  const std::string& StringKeyAt(int32_t id) const { return string_keys_[id]; }

  // Approximate heap bytes held.
  size_t MemoryBytes() const;

 private:
  DataType key_type_;
  absl::flat_hash_map<int64_t, int32_t> int_ids_;
  absl::flat_hash_map<std::string, int32_t> string_ids_;
  std::vector<int64_t> int_keys_;
  std::vector<std::string> string_keys_;
};

}  // namespace mlops::features
