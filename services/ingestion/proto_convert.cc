#include "services/ingestion/proto_convert.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace mlops::ingestion {
namespace {

std::string Where(int i, const v1::Expectation& e) {
  return absl::StrCat("expectations[", i, "]", e.column().empty() ? "" : " column \"",
                      e.column(), e.column().empty() ? "" : "\"");
}

// A bound as a double: INT64, DOUBLE or TIMESTAMP (micros); unset = none.
absl::Status Bound(const common::v1::Value& v, const std::string& where,
                   std::optional<double>* out) {
  switch (v.kind_case()) {
    case common::v1::Value::KIND_NOT_SET: *out = std::nullopt; return absl::OkStatus();
    case common::v1::Value::kInt64Value: *out = static_cast<double>(v.int64_value()); break;
    case common::v1::Value::kDoubleValue: *out = v.double_value(); break;
    case common::v1::Value::kTimestampMicros:
      *out = static_cast<double>(v.timestamp_micros());
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(where, ": a bound must be numeric"));
  }
  return absl::OkStatus();
}

// SCOPE_UNSPECIFIED is the contract's default for aggregates: the batch.
AggregateScope AggregateScopeFromProto(v1::Scope scope) {
  return scope == v1::SCOPE_VERSION ? AggregateScope::kVersion : AggregateScope::kBatch;
}

}  // namespace

Value ValueFromProto(const common::v1::Value& v) {
  switch (v.kind_case()) {
    case common::v1::Value::kInt64Value: return v.int64_value();
    case common::v1::Value::kDoubleValue: return v.double_value();
    case common::v1::Value::kStringValue: return v.string_value();
    case common::v1::Value::kBoolValue: return v.bool_value();
    case common::v1::Value::kTimestampMicros: return Timestamp{v.timestamp_micros()};
    case common::v1::Value::KIND_NOT_SET: break;
  }
  return std::monostate{};
}

void ValueToProto(const Value& v, common::v1::Value* out) {
  out->Clear();
  switch (v.index()) {
    case 1: out->set_int64_value(std::get<int64_t>(v)); break;
    case 2: out->set_double_value(std::get<double>(v)); break;
    case 3: out->set_string_value(std::get<std::string>(v)); break;
    case 4: out->set_bool_value(std::get<bool>(v)); break;
    case 5: out->set_timestamp_micros(std::get<Timestamp>(v).micros); break;
    default: break;
  }
}

void RowsToProto(const std::vector<Row>& rows,
                 google::protobuf::RepeatedPtrField<common::v1::Row>* out) {
  out->Reserve(out->size() + static_cast<int>(rows.size()));
  for (const Row& row : rows) {
    common::v1::Row* r = out->Add();
    for (const Value& v : row) ValueToProto(v, r->add_values());
  }
}

void RowsFromProto(const google::protobuf::RepeatedPtrField<common::v1::Row>& rows,
                   std::vector<Row>* out) {
  out->reserve(out->size() + rows.size());
  for (const auto& r : rows) {
    Row row;
    row.reserve(r.values_size());
    for (const auto& v : r.values()) row.push_back(ValueFromProto(v));
    out->push_back(std::move(row));
  }
}

Schema SchemaFromProto(const common::v1::Schema& schema) {
  Schema out;
  for (const auto& c : schema.columns()) {
    Column col;
    col.name = c.name();
    col.type = static_cast<DataType>(c.type());
    col.nullable = c.nullable();
    col.role = static_cast<ColumnRole>(c.role());
    col.description = c.description();
    col.allow_non_finite = c.allow_non_finite();
    out.columns.push_back(std::move(col));
  }
  return out;
}

void SchemaToProto(const Schema& schema, common::v1::Schema* out) {
  out->Clear();
  for (const auto& c : schema.columns) {
    auto* col = out->add_columns();
    col->set_name(c.name);
    col->set_type(static_cast<common::v1::DataType>(c.type));
    col->set_nullable(c.nullable);
    col->set_role(static_cast<common::v1::ColumnRole>(c.role));
    col->set_description(c.description);
    col->set_allow_non_finite(c.allow_non_finite);
  }
}

absl::Status SuiteFromProto(const google::protobuf::RepeatedPtrField<v1::Expectation>& in,
                            int64_t version, ExpectationSuite* out) {
  out->version = version;
  out->expectations.clear();
  for (int i = 0; i < in.size(); ++i) {
    const v1::Expectation& p = in[i];
    const std::string where = Where(i, p);
    Expectation e;
    e.column = p.column();
    e.severity = p.severity() == v1::SEVERITY_WARN ? Severity::kWarn : Severity::kError;
    if (p.has_mostly()) e.mostly = p.mostly();
    switch (p.kind_case()) {
      case v1::Expectation::kNotNull: e.rule = NotNull{}; break;
      case v1::Expectation::kBetween: {
        Between b;
        b.strict_min = p.between().strict_min();
        b.strict_max = p.between().strict_max();
        absl::Status s = Bound(p.between().min(), where, &b.min);
        if (s.ok()) s = Bound(p.between().max(), where, &b.max);
        if (!s.ok()) return s;
        e.rule = b;
        break;
      }
      case v1::Expectation::kInSet: {
        InSet s;
        for (const auto& v : p.in_set().values()) s.values.push_back(ValueFromProto(v));
        e.rule = std::move(s);
        break;
      }
      case v1::Expectation::kUnique:
        e.rule = Unique{p.unique().scope() == v1::SCOPE_BATCH ? UniqueScope::kBatch
                                                              : UniqueScope::kVersion};
        break;
      case v1::Expectation::kRegex: {
        // The domain matches anywhere; the contract's default is a full match.
        std::string pattern = p.regex().partial()
                                  ? p.regex().pattern()
                                  : absl::StrCat("^(?:", p.regex().pattern(), ")$");
        e.rule = MatchesRegex{std::move(pattern)};
        break;
      }
      case v1::Expectation::kRowCount: {
        RowCountBetween r;
        r.scope = AggregateScopeFromProto(p.row_count().scope());
        if (p.row_count().has_min()) r.min = p.row_count().min();
        if (p.row_count().has_max()) r.max = p.row_count().max();
        e.rule = r;
        break;
      }
      case v1::Expectation::kMeanBetween:
      case v1::Expectation::kStddevBetween: {
        const v1::StatisticBounds& b = p.kind_case() == v1::Expectation::kMeanBetween
                                           ? p.mean_between()
                                           : p.stddev_between();
        std::optional<double> lo, hi;
        if (b.has_min()) lo = b.min();
        if (b.has_max()) hi = b.max();
        const AggregateScope scope = AggregateScopeFromProto(b.scope());
        if (p.kind_case() == v1::Expectation::kMeanBetween) {
          e.rule = MeanBetween{lo, hi, scope};
        } else {
          e.rule = StddevBetween{lo, hi, scope};
        }
        break;
      }
      case v1::Expectation::kDistributionDistance:
        e.rule = DistributionDistance{
            p.distribution_distance().metric() == v1::DISTANCE_METRIC_JENSEN_SHANNON
                ? DistanceMetric::kJensenShannon
                : DistanceMetric::kPsi,
            p.distribution_distance().max_distance()};
        break;
      case v1::Expectation::KIND_NOT_SET:
        return absl::InvalidArgumentError(absl::StrCat(where, ": no kind set"));
    }
    out->expectations.push_back(std::move(e));
  }
  return absl::OkStatus();
}

void ReportToProto(const ValidationReport& report, const v1::ExpectationSuite& suite,
                   v1::ValidationReport* out) {
  out->set_passed(report.success);
  out->set_row_count(report.row_count);
  out->set_error_count(report.error_failures);
  out->set_warning_count(report.warn_failures);
  out->set_suite_version(suite.version());
  for (const ExpectationResult& r : report.results) {
    auto* p = out->add_results();
    p->set_expectation_index(static_cast<int32_t>(r.index));
    if (r.index < static_cast<size_t>(suite.expectations_size())) {
      *p->mutable_expectation() = suite.expectations(static_cast<int>(r.index));
    }
    p->set_passed(r.passed);
    p->set_element_count(r.element_count);
    p->set_failing_count(r.failing_count);
    p->set_failing_fraction(r.element_count > 0 ? static_cast<double>(r.failing_count) /
                                                      static_cast<double>(r.element_count)
                                                : 0.0);
    if (!std::isnan(r.observed_value)) p->mutable_observed_value()->set_double_value(r.observed_value);
    for (const FailingExample& ex : r.examples) {
      auto* e = p->add_examples();
      e->set_row_index(ex.row_index);
      // The domain keeps the rendering (ValueToString), not the value.
      e->mutable_value()->set_string_value(ex.value);
    }
    p->set_detail(r.detail);
  }
}

}  // namespace mlops::ingestion
