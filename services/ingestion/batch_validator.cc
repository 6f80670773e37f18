#include "services/ingestion/batch_validator.h"

#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/stats/moments.h"
#include "common/stats/profile_distance.h"
#include "common/status/status_macros.h"
#include "services/ingestion/row_checks.h"
#include "services/ingestion/schema_validation.h"

namespace mlops::ingestion {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <typename T>
bool Within(double x, const std::optional<T>& min, const std::optional<T>& max) {
  return (!min.has_value() || x >= static_cast<double>(*min)) &&
         (!max.has_value() || x <= static_cast<double>(*max));
}

template <typename T>
std::string BoundsText(const std::optional<T>& min, const std::optional<T>& max) {
  if (min.has_value() && max.has_value()) return absl::StrCat("[", *min, ", ", *max, "]");
  if (min.has_value()) return absl::StrCat(">= ", *min);
  return absl::StrCat("<= ", *max);
}

stats::Moments MomentsOf(const stats::ColumnProfile& p) {
  return stats::Moments::FromParts(p.numeric_count(), p.mean, p.m2, p.min, p.max);
}

// How a kVersion aggregate was measured, for the report's detail:
// " in the version (parent 1000 + batch 10)"; empty for kBatch.
std::string ScopeText(AggregateScope scope, bool has_parent, int64_t parent_n, int64_t batch_n) {
  if (scope != AggregateScope::kVersion) return "";
  if (!has_parent) return " in the version (the batch alone)";
  return absl::StrCat(" in the version (parent ", parent_n, " + batch ", batch_n, ")");
}

// Checks that the parent's columns agree with the schema where they overlap.
absl::Status CheckParent(const Schema& schema, const stats::DatasetProfile& parent) {
  for (const Column& c : schema.columns) {
    const stats::ColumnProfile* p = parent.Find(c.name);
    if (p != nullptr && p->type != c.type) {
      return absl::InvalidArgumentError(absl::StrCat(
          "parent profile of column \"", c.name, "\" is ", std::string(stats::DataTypeName(p->type)),
          ", schema says ", std::string(stats::DataTypeName(c.type))));
    }
  }
  return absl::OkStatus();
}

struct Feeder {
  stats::ColumnProfileBuilder* b;
  void operator()(std::monostate) const { b->AddNull(); }
  void operator()(int64_t v) const { b->AddInt64(v); }
  void operator()(double v) const { b->AddDouble(v); }
  void operator()(const std::string& v) const { b->AddString(v); }
  void operator()(bool v) const { b->AddBool(v); }
  void operator()(Timestamp v) const { b->AddTimestamp(v.micros); }
};

}  // namespace

absl::StatusOr<std::unique_ptr<BatchValidator>> BatchValidator::Create(const Schema& schema,
                                                                       const ExpectationSuite& suite,
                                                                       BatchValidatorOptions options) {
  MLOPS_RETURN_IF_ERROR(ValidateSchema(schema));
  MLOPS_RETURN_IF_ERROR(ValidateSuite(schema, suite));
  if (options.parent_profile != nullptr) {
    MLOPS_RETURN_IF_ERROR(CheckParent(schema, *options.parent_profile));
  }
  options.max_examples = std::max(options.max_examples, 0);
  std::unique_ptr<BatchValidator> v(new BatchValidator(schema, suite, options));
  if (options.parent_profile != nullptr) v->parent_ = *options.parent_profile;
  v->options_.parent_profile = nullptr;  // use the copy
  for (const Column& c : v->schema_.columns) {
    stats::ProfileOptions po = options.profile_options;
    po.histogram_edges.clear();
    if (v->parent_.has_value()) {
      if (const stats::ColumnProfile* p = v->parent_->Find(c.name)) po.histogram_edges = p->histogram.edges;
    }
    MLOPS_ASSIGN_OR_RETURN(stats::ColumnProfileBuilder b,
                           stats::ColumnProfileBuilder::Create(c.name, c.type, std::move(po)));
    v->builders_.push_back(std::move(b));
  }
  // The checks refer to v->suite_'s expectations, which stay in place.
  for (const Expectation& e : v->suite_.expectations) {
    std::unique_ptr<RowCheck> check;
    if (IsRowLevel(e.rule)) {
      MLOPS_ASSIGN_OR_RETURN(check, MakeRowCheck(e, v->schema_, options.existing_values,
                                                 options.max_examples));
    }
    v->row_checks_.push_back(std::move(check));
  }
  return v;
}

BatchValidator::BatchValidator(Schema schema, ExpectationSuite suite, BatchValidatorOptions options)
    : schema_(std::move(schema)), suite_(std::move(suite)), options_(std::move(options)) {}

BatchValidator::~BatchValidator() = default;

void BatchValidator::ProfileRows(const std::vector<Row>& rows) {
  // Column by column: one builder's sketches stay in cache for the chunk.
  for (size_t c = 0; c < builders_.size(); ++c) {
    const Feeder feed{&builders_[c]};
    for (const Row& row : rows) std::visit(feed, row[c]);
  }
}

absl::Status BatchValidator::AddChunk(const std::vector<Row>& rows) {
  MLOPS_RETURN_IF_ERROR(CheckSchema(rows));
  ProfileRows(rows);
  MLOPS_RETURN_IF_ERROR(CheckRows(rows));
  EndChunk(rows.size());
  return absl::OkStatus();
}

absl::Status BatchValidator::CheckSchema(const std::vector<Row>& rows) {
  if (finished_) return absl::FailedPreconditionError("batch already finished");
  if (failed_) return absl::FailedPreconditionError("batch already rejected");
  // The whole chunk is checked against the schema before anything counts.
  for (size_t i = 0; i < rows.size(); ++i) {
    absl::Status s = ValidateRow(schema_, rows[i], row_count_ + static_cast<int64_t>(i));
    if (!s.ok()) {
      failed_ = true;
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status BatchValidator::CheckRows(const std::vector<Row>& rows) {
  for (const std::unique_ptr<RowCheck>& check : row_checks_) {
    if (check == nullptr) continue;
    absl::Status s = check->CheckChunk(rows, row_count_);
    if (!s.ok()) {
      failed_ = true;
      return s;
    }
  }
  return absl::OkStatus();
}

ExpectationResult BatchValidator::EvaluateAggregate(size_t index, const Expectation& e) const {
  ExpectationResult r;
  r.index = index;
  r.expectation = e;
  if (const auto* rule = std::get_if<RowCountBetween>(&e.rule)) {
    const stats::DatasetProfile* base =
        rule->scope == AggregateScope::kVersion ? VersionBase() : nullptr;
    const int64_t rows = row_count_ + (base != nullptr ? base->row_count : 0);
    r.element_count = rows;
    r.observed_value = static_cast<double>(rows);
    r.passed = Within(r.observed_value, rule->min, rule->max);
    r.detail = absl::StrCat(rows, " rows",
                            ScopeText(rule->scope, base != nullptr, rows - row_count_, row_count_),
                            "; expected ", BoundsText(rule->min, rule->max));
    return r;
  }
  const stats::ColumnProfile* batch = profile_.Find(e.column);
  if (batch == nullptr) {  // ValidateSuite makes this unreachable
    r.passed = false;
    r.detail = absl::StrCat("column \"", e.column, "\" has no profile");
    return r;
  }
  const bool is_mean = std::holds_alternative<MeanBetween>(e.rule);
  if (is_mean || std::holds_alternative<StddevBetween>(e.rule)) {
    const auto [min, max, scope] =
        is_mean ? std::make_tuple(std::get<MeanBetween>(e.rule).min, std::get<MeanBetween>(e.rule).max,
                                  std::get<MeanBetween>(e.rule).scope)
                : std::make_tuple(std::get<StddevBetween>(e.rule).min,
                                  std::get<StddevBetween>(e.rule).max,
                                  std::get<StddevBetween>(e.rule).scope);
    const char* what = is_mean ? "mean" : "stddev";
    // The version's moments are the parent's merged with the batch's (Chan et
    // al.): exact up to rounding, without the parent's rows.
    stats::Moments m = MomentsOf(*batch);
    const stats::DatasetProfile* base = scope == AggregateScope::kVersion ? VersionBase() : nullptr;
    if (base != nullptr) {
      if (const stats::ColumnProfile* p = base->Find(e.column)) m.Merge(MomentsOf(*p));
    }
    const std::string scope_text =
        ScopeText(scope, base != nullptr, m.count() - batch->numeric_count(), batch->numeric_count());
    r.element_count = m.count();
    if (r.element_count == 0) {
      r.passed = false;
      r.observed_value = kNaN;
      r.detail = absl::StrCat("no finite values to compute the ", what, " of", scope_text);
      return r;
    }
    r.observed_value = is_mean ? m.mean() : m.stddev();
    r.passed = Within(r.observed_value, min, max);
    r.detail = absl::StrCat(what, " ", r.observed_value, scope_text, "; expected ",
                            BoundsText(min, max));
    return r;
  }
  const auto& rule = std::get<DistributionDistance>(e.rule);
  r.element_count = stats::IsNumeric(batch->type) ? batch->numeric_count()
                                                  : batch->count - batch->null_count;
  r.observed_value = kNaN;
  const stats::ColumnProfile* parent = parent_.has_value() ? parent_->Find(e.column) : nullptr;
  if (parent == nullptr) {
    r.detail = "no parent version to compare with";
    return r;
  }
  absl::StatusOr<double> d = stats::ProfileDistance(*parent, *batch, rule.metric);
  if (!d.ok()) {
    // Nothing to compare passes; anything else is a real failure.
    r.passed = d.status().code() == absl::StatusCode::kFailedPrecondition;
    r.detail = std::string(d.status().message());
    return r;
  }
  r.observed_value = *d;
  r.passed = *d <= rule.max_distance;
  r.detail = absl::StrCat(rule.metric == DistanceMetric::kPsi ? "PSI " : "Jensen-Shannon distance ",
                          *d, " against the parent; at most ", rule.max_distance, " allowed");
  return r;
}

const stats::DatasetProfile* BatchValidator::VersionBase() const {
  return options_.version_includes_parent && parent_.has_value() ? &*parent_ : nullptr;
}

absl::StatusOr<ValidationReport> BatchValidator::Finish() {
  if (finished_) return absl::FailedPreconditionError("batch already finished");
  if (failed_) return absl::FailedPreconditionError("batch already rejected");
  finished_ = true;
  profile_.row_count = row_count_;
  profile_.columns.clear();
  for (const stats::ColumnProfileBuilder& b : builders_) profile_.columns.push_back(b.Finish());
  ValidationReport report;
  report.row_count = row_count_;
  for (size_t i = 0; i < suite_.expectations.size(); ++i) {
    const Expectation& e = suite_.expectations[i];
    ExpectationResult r = row_checks_[i] != nullptr ? row_checks_[i]->Result(i)
                                                    : EvaluateAggregate(i, e);
    if (!r.passed) ++(e.severity == Severity::kError ? report.error_failures : report.warn_failures);
    report.results.push_back(std::move(r));
  }
  report.success = report.error_failures == 0;
  return report;
}

}  // namespace mlops::ingestion
