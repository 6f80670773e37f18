#pragma once
// Expectations: declarative checks a batch must pass before it becomes a
// dataset version (plain structs; the service layer converts protos). Each has
// a severity: a failed kError expectation blocks the batch, a failed kWarn one
// is only recorded.
//
// Row-level rules look at one value per row and honour `mostly` (the fraction
// of checked values that must pass); NULLs are not checked except by NotNull:
//   NotNull, Between, InSet, Unique, MatchesRegex
// Aggregate rules look at the batch as a whole (`mostly` must stay 1):
//   RowCountBetween, MeanBetween, StddevBetween, DistributionDistance
// Bounds are inclusive (Between may make either strict); an absent bound is
// unbounded.
//
// Aggregates other than DistributionDistance have a scope: kBatch measures
// the incoming batch, kVersion the version the batch would create (APPEND:
// the parent's rows plus the batch, computed exactly from the parent's stored
// profile merged with the batch's; REPLACE or a first version: the batch).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "common/stats/profile_distance.h"
#include "services/ingestion/value.h"

namespace mlops::ingestion {

enum class Severity { kError = 0, kWarn = 1 };
// kBatch: no value twice within the batch. kVersion: additionally none that
// the parent version already holds (append mode), checked through
// ExistingValues.
enum class UniqueScope { kBatch = 0, kVersion = 1 };
// What RowCountBetween, MeanBetween and StddevBetween measure (see above).
enum class AggregateScope { kBatch = 0, kVersion = 1 };
// PSI (parent = expected, batch = actual) or Jensen-Shannon distance (base 2,
// in [0, 1]); see common/stats/profile_distance.h.
using DistanceMetric = stats::DistanceMetric;

struct NotNull {};
// INT64, DOUBLE or TIMESTAMP (micros) columns; NaN fails. A strict bound
// excludes its value: strict_min means v > min, strict_max v < max.
struct Between {
  std::optional<double> min;
  std::optional<double> max;
  bool strict_min = false;
  bool strict_max = false;
};
// Values of the column's type; membership by exact value.
struct InSet {
  std::vector<Value> values;
};
struct Unique {
  UniqueScope scope = UniqueScope::kBatch;
};
// STRING columns; RE2 syntax, matched anywhere in the value (anchor with ^ $).
struct MatchesRegex {
  std::string pattern;
};
struct RowCountBetween {
  std::optional<int64_t> min;
  std::optional<int64_t> max;
  AggregateScope scope = AggregateScope::kBatch;
};
// Population mean / stddev of the finite values in scope (numeric columns).
struct MeanBetween {
  std::optional<double> min;
  std::optional<double> max;
  AggregateScope scope = AggregateScope::kBatch;
};
struct StddevBetween {
  std::optional<double> min;
  std::optional<double> max;
  AggregateScope scope = AggregateScope::kBatch;
};
// Distance between the batch's distribution of the column and the parent
// version's: histograms (with the dataset's fixed edges, plus underflow and
// overflow bins) for numeric columns, category counts for STRING. Passes
// without a parent.
struct DistributionDistance {
  DistanceMetric metric = DistanceMetric::kPsi;
  double max_distance = 0.1;
};

using ExpectationRule = std::variant<NotNull, Between, InSet, Unique, MatchesRegex, RowCountBetween,
                                     MeanBetween, StddevBetween, DistributionDistance>;

struct Expectation {
  ExpectationRule rule;
  // The column checked; empty for RowCountBetween.
  std::string column;
  Severity severity = Severity::kError;
  // Row-level rules: the fraction of checked values that must pass, in [0, 1].
  double mostly = 1.0;
};

struct ExpectationSuite {
  // The suite's version, recorded in each dataset version's lineage.
  int64_t version = 0;
  std::vector<Expectation> expectations;
};

inline constexpr size_t kMaxExpectations = 1000;
inline constexpr size_t kMaxRegexBytes = 4096;
inline constexpr size_t kMaxInSetValues = 10000;

// "not_null", "between", "in_set", "unique", "matches_regex",
// "row_count_between", "mean_between", "stddev_between",
// "distribution_distance".
std::string_view RuleName(const ExpectationRule& rule);
bool IsRowLevel(const ExpectationRule& rule);
std::string_view SeverityName(Severity severity);

// One line for reports: `between(amount, min=0, max=100) [error]`,
// `between(amount, min=0, strict_min) [error]`,
// `unique(id, scope=version, mostly=0.99) [warn]`,
// `mean_between(amount, max=50, scope=version) [error]`.
std::string DescribeExpectation(const Expectation& e);

// Checks a suite against its (valid) schema. InvalidArgument naming the
// expectation by position and kind:
//   expectation 3 (between): column "amout" is not in the schema
//   expectation 0 (matches_regex): column "age" is int64; matches_regex needs a string column
//   expectation 2 (matches_regex): invalid regex "(": missing ): (
absl::Status ValidateSuite(const Schema& schema, const ExpectationSuite& suite);

}  // namespace mlops::ingestion
