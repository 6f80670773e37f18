#pragma once
// Streaming validation and profiling of one batch against a schema and an
// expectation suite: the heart of IngestBatch and ValidateBatch.
//
//   auto v = BatchValidator::Create(schema, suite, {.parent_profile = &parent});
//   for each chunk: MLOPS_RETURN_IF_ERROR((*v)->AddChunk(rows));
//   MLOPS_ASSIGN_OR_RETURN(ValidationReport report, (*v)->Finish());
//   if (report.success) commit, with (*v)->profile() as the batch's profile.
//
// Rows that break the schema (arity, type, NULL in a non-nullable column,
// NaN/inf where not allowed, invalid UTF-8) make AddChunk return
// InvalidArgument (`row 17, column "amount": ...`): the batch is malformed,
// not merely failing an expectation. Rows are numbered from 0 across chunks.
//
// State is bounded and does not hold rows: per expectation a failing count and
// at most max_examples examples; per column a ColumnProfileBuilder (bounded
// sketches; without fixed histogram edges up to 64K buffered doubles); for
// unique expectations 24 bytes per distinct value of their column (a 128-bit
// hash and the first row index), which is what uniqueness needs.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/stats/column_profile.h"
#include "services/ingestion/existing_values.h"
#include "services/ingestion/expectations.h"
#include "services/ingestion/value.h"

namespace mlops::ingestion {

class RowCheck;

inline constexpr int kDefaultMaxExamples = 20;

struct FailingExample {
  int64_t row_index = 0;
  std::string value;  // ValueToString of the failing value
};

struct ExpectationResult {
  size_t index = 0;  // position in the suite
  Expectation expectation;
  bool passed = true;
  // Row-level: values checked (every row for not_null, non-NULL values
  // otherwise) and how many failed. Aggregates: element_count is the number
  // of values the aggregate saw, failing_count 0.
  int64_t element_count = 0;
  int64_t failing_count = 0;
  // Row-level: the failing fraction. row_count_between: the row count;
  // mean/stddev: the value (of the batch, or of the version for
  // AggregateScope::kVersion); distribution_distance: the distance.
  // NaN when there was nothing to measure.
  double observed_value = 0;
  std::vector<FailingExample> examples;  // at most max_examples, in the order found
  std::string detail;                    // one human-readable sentence
};

struct ValidationReport {
  // No error-severity expectation failed.
  bool success = true;
  int64_t row_count = 0;
  int error_failures = 0;
  int warn_failures = 0;
  std::vector<ExpectationResult> results;  // one per expectation, suite order
};

struct BatchValidatorOptions {
  // The parent version's profile: supplies the dataset's fixed histogram
  // edges and the baseline of distribution_distance. nullptr for a dataset's
  // first version. Copied by Create().
  const stats::DatasetProfile* parent_profile = nullptr;
  // True when the new version holds the parent's rows too (APPEND onto a
  // parent): aggregates with AggregateScope::kVersion then measure the
  // parent's profile merged with the batch's. False (REPLACE): the version
  // is the batch.
  bool version_includes_parent = false;
  // Values already in the parent version, for unique(scope=version). nullptr
  // (first version, or replace mode): checked within the batch only. Not
  // owned; must outlive the validator.
  ExistingValues* existing_values = nullptr;
  int max_examples = kDefaultMaxExamples;
  // Sketch sizes and bin count; histogram_edges is taken from the parent.
  stats::ProfileOptions profile_options;
};

// Owns copies of the schema and the suite, compiled regexes and all
// accumulators. Not thread-safe: one batch, one thread.
class BatchValidator {
 public:
  // InvalidArgument when the schema or the suite is invalid (e.g. an
  // expectation naming a missing column) or the parent profile's columns do
  // not match the schema.
  static absl::StatusOr<std::unique_ptr<BatchValidator>> Create(const Schema& schema,
                                                                const ExpectationSuite& suite,
                                                                BatchValidatorOptions options = {});
  ~BatchValidator();

  // Validates and profiles the next rows. InvalidArgument on a schema
  // violation; the ExistingValues' error if a lookup fails;
  // FailedPrecondition after an error or after Finish().
  absl::Status AddChunk(const std::vector<Row>& rows);

  // AddChunk in steps, for a caller that profiles a chunk on one thread while
  // it checks the chunk's rows on another: CheckSchema first (nothing else
  // when it fails), then ProfileRows and CheckRows (disjoint state: they may
  // run at the same time), then EndChunk. Errors as AddChunk's.
  absl::Status CheckSchema(const std::vector<Row>& rows);
  void ProfileRows(const std::vector<Row>& rows);
  absl::Status CheckRows(const std::vector<Row>& rows);
  void EndChunk(size_t rows) { row_count_ += static_cast<int64_t>(rows); }

  // Evaluates the aggregate expectations and returns the report.
  // FailedPrecondition after an AddChunk error or a second call.
  absl::StatusOr<ValidationReport> Finish();

  // The batch's profile (valid after Finish()).
  const stats::DatasetProfile& profile() const { return profile_; }
  int64_t row_count() const { return row_count_; }

 private:
  BatchValidator(Schema schema, ExpectationSuite suite, BatchValidatorOptions options);
  ExpectationResult EvaluateAggregate(size_t index, const Expectation& e) const;
  // The parent profile that the version's aggregates include, or nullptr.
  const stats::DatasetProfile* VersionBase() const;

  Schema schema_;
  ExpectationSuite suite_;
  BatchValidatorOptions options_;
  std::optional<stats::DatasetProfile> parent_;
  std::vector<stats::ColumnProfileBuilder> builders_;
  // Per expectation, in suite order: its row check, or nullptr (aggregate).
  std::vector<std::unique_ptr<RowCheck>> row_checks_;
  int64_t row_count_ = 0;
  bool failed_ = false;
  bool finished_ = false;
  stats::DatasetProfile profile_;
};

}  // namespace mlops::ingestion
