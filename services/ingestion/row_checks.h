#pragma once
// Row-level expectation checks used by BatchValidator (internal to the
// ingestion domain): each owns its counters and examples, and, for unique,
// the set of values seen. Not thread-safe.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ingestion/batch_validator.h"
#include "services/ingestion/existing_values.h"
#include "services/ingestion/expectations.h"

namespace mlops::ingestion {

class RowCheck {
 public:
  RowCheck(const Expectation& e, int column, int max_examples)
      : e_(e), column_(column), max_examples_(max_examples) {}
  virtual ~RowCheck() = default;

  // Checks column `column()` of `rows`; rows[0] is row `first_row` of the batch.
  virtual absl::Status CheckChunk(const std::vector<Row>& rows, int64_t first_row) = 0;

  // Counts, examples and the verdict under `mostly`.
  ExpectationResult Result(size_t index) const;

 protected:
  int column() const { return column_; }
  void Count(int64_t row, const Value& v, bool ok);
  // A failure of a value counted before (unique's first occurrence).
  void FailCounted(int64_t row, const Value& v);

 private:
  const Expectation& e_;
  int column_;
  int max_examples_;
  int64_t element_count_ = 0;
  int64_t failing_count_ = 0;
  std::vector<FailingExample> examples_;
};

// `e` must be row-level and valid for `schema` (ValidateSuite), and outlive
// the check. `existing` may be nullptr.
absl::StatusOr<std::unique_ptr<RowCheck>> MakeRowCheck(const Expectation& e, const Schema& schema,
                                                       ExistingValues* existing, int max_examples);

}  // namespace mlops::ingestion
