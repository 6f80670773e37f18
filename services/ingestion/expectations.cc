#include "services/ingestion/expectations.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "re2/re2.h"

namespace mlops::ingestion {
namespace {

struct NameOf {
  std::string_view operator()(const NotNull&) const { return "not_null"; }
  std::string_view operator()(const Between&) const { return "between"; }
  std::string_view operator()(const InSet&) const { return "in_set"; }
  std::string_view operator()(const Unique&) const { return "unique"; }
  std::string_view operator()(const MatchesRegex&) const { return "matches_regex"; }
  std::string_view operator()(const RowCountBetween&) const { return "row_count_between"; }
  std::string_view operator()(const MeanBetween&) const { return "mean_between"; }
  std::string_view operator()(const StddevBetween&) const { return "stddev_between"; }
  std::string_view operator()(const DistributionDistance&) const { return "distribution_distance"; }
};

template <typename T>
void AppendBounds(const std::optional<T>& min, const std::optional<T>& max,
                  std::vector<std::string>* parts) {
  if (min.has_value()) parts->push_back(absl::StrCat("min=", *min));
  if (max.has_value()) parts->push_back(absl::StrCat("max=", *max));
}

// Parameters of a rule as "key=value" strings.
struct ParamsOf {
  std::vector<std::string>* parts;
  void operator()(const NotNull&) const {}
  void operator()(const Between& r) const {
    AppendBounds(r.min, r.max, parts);
    if (r.strict_min) parts->push_back("strict_min");
    if (r.strict_max) parts->push_back("strict_max");
  }
  void operator()(const InSet& r) const {
    std::vector<std::string> shown;
    for (size_t i = 0; i < r.values.size() && i < 10; ++i) shown.push_back(ValueToString(r.values[i], 40));
    if (r.values.size() > 10) shown.push_back(absl::StrCat("... ", r.values.size() - 10, " more"));
    parts->push_back(absl::StrCat("values={", absl::StrJoin(shown, ", "), "}"));
  }
  void operator()(const Unique& r) const {
    parts->push_back(r.scope == UniqueScope::kVersion ? "scope=version" : "scope=batch");
  }
  void operator()(const MatchesRegex& r) const {
    parts->push_back(ValueToString(Value(r.pattern), 200));
  }
  void operator()(const RowCountBetween& r) const { Aggregate(r); }
  void operator()(const MeanBetween& r) const { Aggregate(r); }
  void operator()(const StddevBetween& r) const { Aggregate(r); }
  void operator()(const DistributionDistance& r) const {
    parts->push_back(r.metric == DistanceMetric::kPsi ? "metric=psi" : "metric=jensen_shannon");
    parts->push_back(absl::StrCat("max=", r.max_distance));
  }
  template <typename R>
  void Aggregate(const R& r) const {
    AppendBounds(r.min, r.max, parts);
    if (r.scope == AggregateScope::kVersion) parts->push_back("scope=version");
  }
};

bool IsNumericColumn(DataType t) {
  return t == DataType::kInt64 || t == DataType::kDouble || t == DataType::kTimestamp;
}

// Errors of one expectation, prefixed with its position and kind.
class SuiteChecker {
 public:
  SuiteChecker(const Schema& schema, const Expectation& e, size_t index)
      : schema_(schema),
        e_(e),
        prefix_(absl::StrCat("expectation ", index, " (", std::string(RuleName(e.rule)), "): ")) {}

  absl::Status Check() {
    if (e_.severity != Severity::kError && e_.severity != Severity::kWarn) return Bad("unknown severity");
    if (!(e_.mostly >= 0 && e_.mostly <= 1)) return Bad(absl::StrCat("mostly ", e_.mostly, " is not in [0, 1]"));
    if (!IsRowLevel(e_.rule) && e_.mostly != 1) {
      return Bad("mostly applies to row-level expectations only");
    }
    if (std::holds_alternative<RowCountBetween>(e_.rule)) {
      if (!e_.column.empty()) return Bad("row_count_between takes no column");
    } else {
      if (e_.column.empty()) return Bad("no column given");
      const int i = schema_.IndexOf(e_.column);
      if (i < 0) return Bad(absl::StrCat("column \"", e_.column, "\" is not in the schema"));
      type_ = schema_.columns[i].type;
    }
    return std::visit([this](const auto& r) { return CheckRule(r); }, e_.rule);
  }

 private:
  absl::Status Bad(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(prefix_, std::string(what)));
  }
  absl::Status NeedType(bool ok, std::string_view needed) const {
    if (ok) return absl::OkStatus();
    return Bad(absl::StrCat("column \"", e_.column, "\" is ", std::string(stats::DataTypeName(type_)),
                            "; ", std::string(RuleName(e_.rule)), " needs ", std::string(needed), " column"));
  }
  template <typename T>
  absl::Status CheckBounds(const std::optional<T>& min, const std::optional<T>& max) const {
    if (!min.has_value() && !max.has_value()) return Bad("needs min, max or both");
    if (min.has_value() && std::isnan(static_cast<double>(*min))) return Bad("min is NaN");
    if (max.has_value() && std::isnan(static_cast<double>(*max))) return Bad("max is NaN");
    if (min.has_value() && max.has_value() && *min > *max) {
      return Bad(absl::StrCat("min ", *min, " is greater than max ", *max));
    }
    return absl::OkStatus();
  }

  absl::Status CheckRule(const NotNull&) const { return absl::OkStatus(); }
  absl::Status CheckRule(const Between& r) const {
    if (absl::Status s = NeedType(IsNumericColumn(type_), "an int64, double or timestamp"); !s.ok()) return s;
    if (absl::Status s = CheckBounds(r.min, r.max); !s.ok()) return s;
    if (r.strict_min && !r.min.has_value()) return Bad("strict_min without a min");
    if (r.strict_max && !r.max.has_value()) return Bad("strict_max without a max");
    if ((r.strict_min || r.strict_max) && r.min.has_value() && r.max.has_value() && *r.min == *r.max) {
      return Bad(absl::StrCat("no value can pass: min and max are both ", *r.min,
                              " and a bound is strict"));
    }
    return absl::OkStatus();
  }
  absl::Status CheckRule(const InSet& r) const {
    if (r.values.empty()) return Bad("needs at least one value");
    if (r.values.size() > kMaxInSetValues) {
      return Bad(absl::StrCat(r.values.size(), " values; at most ", kMaxInSetValues, " allowed"));
    }
    for (size_t i = 0; i < r.values.size(); ++i) {
      if (TypeOf(r.values[i]) != type_) {
        return Bad(absl::StrCat("value ", i, " (", ValueToString(r.values[i], 40), ") is not a ",
                                std::string(stats::DataTypeName(type_)), " like column \"",
                                e_.column, "\""));
      }
    }
    return absl::OkStatus();
  }
  absl::Status CheckRule(const Unique& r) const {
    if (r.scope != UniqueScope::kBatch && r.scope != UniqueScope::kVersion) return Bad("unknown scope");
    return absl::OkStatus();
  }
  absl::Status CheckRule(const MatchesRegex& r) const {
    if (absl::Status s = NeedType(type_ == DataType::kString, "a string"); !s.ok()) return s;
    if (r.pattern.size() > kMaxRegexBytes) {
      return Bad(absl::StrCat("regex is ", r.pattern.size(), " bytes; at most ", kMaxRegexBytes));
    }
    RE2::Options options;
    options.set_log_errors(false);
    const RE2 re(re2::StringPiece(r.pattern.data(), r.pattern.size()), options);
    if (!re.ok()) {
      return Bad(absl::StrCat("invalid regex ", ValueToString(Value(r.pattern), 200), ": ", re.error()));
    }
    return absl::OkStatus();
  }
  absl::Status CheckScope(AggregateScope scope) const {
    if (scope != AggregateScope::kBatch && scope != AggregateScope::kVersion) return Bad("unknown scope");
    return absl::OkStatus();
  }
  absl::Status CheckRule(const RowCountBetween& r) const {
    if (absl::Status s = CheckScope(r.scope); !s.ok()) return s;
    if (absl::Status s = CheckBounds(r.min, r.max); !s.ok()) return s;
    if (r.min.value_or(0) < 0) return Bad("min must not be negative");
    return absl::OkStatus();
  }
  absl::Status CheckRule(const MeanBetween& r) const {
    if (absl::Status s = CheckScope(r.scope); !s.ok()) return s;
    if (absl::Status s = NeedType(stats::IsNumeric(type_), "a numeric"); !s.ok()) return s;
    return CheckBounds(r.min, r.max);
  }
  absl::Status CheckRule(const StddevBetween& r) const {
    if (absl::Status s = CheckScope(r.scope); !s.ok()) return s;
    if (absl::Status s = NeedType(stats::IsNumeric(type_), "a numeric"); !s.ok()) return s;
    return CheckBounds(r.min, r.max);
  }
  absl::Status CheckRule(const DistributionDistance& r) const {
    if (r.metric != DistanceMetric::kPsi && r.metric != DistanceMetric::kJensenShannon) {
      return Bad("unknown metric");
    }
    if (!(r.max_distance >= 0) || std::isinf(r.max_distance)) {
      return Bad("max distance must be a finite number >= 0");
    }
    return absl::OkStatus();
  }

  const Schema& schema_;
  const Expectation& e_;
  std::string prefix_;
  DataType type_ = DataType::kUnspecified;
};

}  // namespace

std::string_view RuleName(const ExpectationRule& rule) { return std::visit(NameOf{}, rule); }

bool IsRowLevel(const ExpectationRule& rule) {
  return std::holds_alternative<NotNull>(rule) || std::holds_alternative<Between>(rule) ||
         std::holds_alternative<InSet>(rule) || std::holds_alternative<Unique>(rule) ||
         std::holds_alternative<MatchesRegex>(rule);
}

std::string_view SeverityName(Severity severity) {
  return severity == Severity::kWarn ? "warn" : "error";
}

std::string DescribeExpectation(const Expectation& e) {
  std::vector<std::string> parts;
  if (!e.column.empty()) parts.push_back(e.column);
  std::visit(ParamsOf{&parts}, e.rule);
  if (e.mostly != 1) parts.push_back(absl::StrCat("mostly=", e.mostly));
  return absl::StrCat(std::string(RuleName(e.rule)), "(", absl::StrJoin(parts, ", "), ") [",
                      std::string(SeverityName(e.severity)), "]");
}

absl::Status ValidateSuite(const Schema& schema, const ExpectationSuite& suite) {
  if (suite.expectations.size() > kMaxExpectations) {
    return absl::InvalidArgumentError(absl::StrCat("suite has ", suite.expectations.size(),
                                                   " expectations; at most ", kMaxExpectations,
                                                   " allowed"));
  }
  for (size_t i = 0; i < suite.expectations.size(); ++i) {
    if (absl::Status s = SuiteChecker(schema, suite.expectations[i], i).Check(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace mlops::ingestion
