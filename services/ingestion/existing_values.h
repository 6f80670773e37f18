#pragma once
// Where unique(scope=version) learns which values the parent version already
// holds. The Postgres store implements it later (one `= ANY($1)` query per
// chunk and column); InMemoryExistingValues serves tests and small parents.

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "services/ingestion/value.h"

namespace mlops::ingestion {

// Implementations say whether they are thread-safe; the BatchValidator calls
// one from a single thread.
class ExistingValues {
 public:
  virtual ~ExistingValues() = default;
  // For each of `values` (non-NULL, of the column's type), whether the parent
  // version holds it in `column`; the result has values.size() entries. An
  // error (e.g. Unavailable from a store) aborts the batch.
  virtual absl::StatusOr<std::vector<bool>> Contains(std::string_view column,
                                                     const std::vector<Value>& values) = 0;
};

// Exact sets of values per column, keyed by their canonical encoding. Owns
// copies; not thread-safe.
class InMemoryExistingValues final : public ExistingValues {
 public:
  void Add(std::string_view column, const Value& value);
  absl::StatusOr<std::vector<bool>> Contains(std::string_view column,
                                             const std::vector<Value>& values) override;

 private:
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> by_column_;
};

}  // namespace mlops::ingestion
