#include "services/monitoring/proto_convert.h"

#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/ingestion/names.h"

namespace mlops::monitoring {
namespace {

absl::Status Invalid(const std::string& field, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status CheckOpenUnit(const std::string& field, double v, bool closed_right) {
  if (v == 0) return absl::OkStatus();
  if (!(v > 0) || v > 1 || (!closed_right && v == 1)) {
    return Invalid(field, absl::StrCat(v, " is outside (0, 1", closed_right ? "]" : ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckNonNegative(const std::string& field, double v) {
  if (!(v >= 0)) return Invalid(field, absl::StrCat(v, " is negative or NaN"));
  return absl::OkStatus();
}

StatTest StatTestOf(v1::DriftTest t) {
  switch (t) {
    case v1::DRIFT_TEST_PSI:
      return StatTest::kPsi;
    case v1::DRIFT_TEST_CHI_SQUARE:
      return StatTest::kChiSquare;
    case v1::DRIFT_TEST_JENSEN_SHANNON:
      return StatTest::kJensenShannon;
    case v1::DRIFT_TEST_WASSERSTEIN_NORMED:
      return StatTest::kWasserstein;
    default:
      return StatTest::kKolmogorovSmirnov;
  }
}

v1::DriftTest DriftTestOf(StatTest t) {
  switch (t) {
    case StatTest::kPsi:
      return v1::DRIFT_TEST_PSI;
    case StatTest::kChiSquare:
      return v1::DRIFT_TEST_CHI_SQUARE;
    case StatTest::kJensenShannon:
      return v1::DRIFT_TEST_JENSEN_SHANNON;
    case StatTest::kWasserstein:
      return v1::DRIFT_TEST_WASSERSTEIN_NORMED;
    case StatTest::kKolmogorovSmirnov:
      return v1::DRIFT_TEST_KS;
    case StatTest::kZTest:  // not in the contract's enum: reported as UNSPECIFIED
      return v1::DRIFT_TEST_UNSPECIFIED;
  }
  return v1::DRIFT_TEST_UNSPECIFIED;
}

void HistogramToProto(const stats::Histogram& h, common::v1::Histogram* out) {
  out->mutable_edges()->Assign(h.edges.begin(), h.edges.end());
  out->mutable_counts()->Assign(h.counts.begin(), h.counts.end());
  out->set_underflow(h.underflow);
  out->set_overflow(h.overflow);
}

void FeatureToProto(const FeatureDriftOutcome& o, bool omit_histograms, v1::FeatureDrift* out) {
  const FeatureDriftResult& r = o.result;
  out->set_feature(r.name);
  out->set_kind(r.kind == FeatureKind::kCategorical ? v1::FEATURE_KIND_CATEGORICAL
                                                    : v1::FEATURE_KIND_NUMERIC);
  out->set_computed(o.computed);
  out->set_note(o.note);
  out->set_current_null_count(o.current_null_count);
  if (!o.computed) return;
  out->set_test(DriftTestOf(r.test));
  out->set_test_reason(o.test_reason);
  const bool p_test = IsPValueTest(r.test);
  switch (r.test) {
    case StatTest::kKolmogorovSmirnov:
      out->set_statistic(r.ks_statistic);
      break;
    case StatTest::kChiSquare:
      out->set_statistic(r.chi_square_statistic);
      break;
    case StatTest::kZTest:
      out->set_statistic(r.z_statistic);
      break;
    default:
      out->set_statistic(r.score);
  }
  if (p_test) out->set_p_value(r.score);
  out->set_threshold(r.threshold);
  out->set_rule(p_test ? v1::THRESHOLD_RULE_P_VALUE_BELOW : v1::THRESHOLD_RULE_STATISTIC_AT_LEAST);
  out->set_drifted(r.drifted);
  out->set_source(r.exact ? v1::STATISTIC_SOURCE_EXACT : v1::STATISTIC_SOURCE_SKETCH);
  if (!r.exact) {
    if (r.test == StatTest::kKolmogorovSmirnov) {
      out->set_error_bound(r.ks_statistic_upper_bound - r.ks_statistic);
    } else if (r.test == StatTest::kWasserstein) {
      // The bound on W, scaled as the statistic is.
      const double scale = r.wasserstein > 0 ? r.wasserstein_normalized / r.wasserstein : 0;
      out->set_error_bound(r.wasserstein_error_bound * scale);
    }
  }
  out->set_reference_count(r.reference_count);
  out->set_current_count(r.current_count);
  if (omit_histograms) return;
  if (r.kind == FeatureKind::kNumerical) {
    HistogramToProto(r.reference_histogram, out->mutable_reference_histogram());
    HistogramToProto(r.current_histogram, out->mutable_current_histogram());
  } else {
    for (size_t i = 0; i < r.categories.keys.size(); ++i) {
      common::v1::CategoryCount* rc = out->add_reference_categories();
      rc->set_value(r.categories.keys[i]);
      rc->set_count(static_cast<int64_t>(std::llround(r.categories.reference[i])));
      common::v1::CategoryCount* cc = out->add_current_categories();
      cc->set_value(r.categories.keys[i]);
      cc->set_count(static_cast<int64_t>(std::llround(r.categories.current[i])));
    }
  }
}

}  // namespace

absl::Status ValidateMonitoringConfig(const v1::MonitoringConfig& c) {
  MLOPS_RETURN_IF_ERROR(ingestion::ValidateName("config.model", c.model()));
  const int64_t w = c.window_micros();
  if (w != 0 && (w < 10 * kSecondMicros || w > kDayMicros || kDayMicros % w != 0)) {
    return Invalid("config.window_micros",
                   absl::StrCat(w, " is outside 10 s .. 1 day or does not divide 1 day"));
  }
  if (c.raw_retention_micros() < 0) return Invalid("config.raw_retention_micros", "negative");
  if (c.raw_retention_micros() != 0 && c.raw_retention_micros() < 3600 * kSecondMicros) {
    return Invalid("config.raw_retention_micros", "below the minimum of 1 hour");
  }
  if (c.window_retention_micros() < 0) {
    return Invalid("config.window_retention_micros", "negative");
  }
  if (c.label_ttl_micros() < 0) return Invalid("config.label_ttl_micros", "negative");
  if (c.allowed_lateness_micros() < 0) {
    return Invalid("config.allowed_lateness_micros", "negative");
  }
  if (c.max_raw_values_per_feature() < 0 || c.max_raw_values_per_feature() > 10'000'000) {
    return Invalid("config.max_raw_values_per_feature", "outside 0 .. 10,000,000");
  }
  const v1::DriftThresholds& t = c.thresholds();
  MLOPS_RETURN_IF_ERROR(CheckNonNegative("config.thresholds.psi", t.psi()));
  MLOPS_RETURN_IF_ERROR(CheckOpenUnit("config.thresholds.ks_p_value", t.ks_p_value(), false));
  MLOPS_RETURN_IF_ERROR(
      CheckOpenUnit("config.thresholds.chi_square_p_value", t.chi_square_p_value(), false));
  MLOPS_RETURN_IF_ERROR(
      CheckOpenUnit("config.thresholds.jensen_shannon", t.jensen_shannon(), true));
  MLOPS_RETURN_IF_ERROR(
      CheckNonNegative("config.thresholds.wasserstein_normed", t.wasserstein_normed()));
  MLOPS_RETURN_IF_ERROR(CheckOpenUnit("config.dataset_drift_share", c.dataset_drift_share(), true));
  std::set<std::string> seen;
  for (int i = 0; i < c.overrides_size(); ++i) {
    const v1::FeatureTestOverride& o = c.overrides(i);
    const std::string field = absl::StrCat("config.overrides[", i, "]");
    if (o.feature().empty()) return Invalid(field + ".feature", "empty");
    if (!seen.insert(o.feature()).second) {
      return Invalid(field + ".feature", absl::StrCat("duplicate feature \"", o.feature(), "\""));
    }
    if (o.test() == v1::DRIFT_TEST_UNSPECIFIED || !v1::DriftTest_IsValid(o.test())) {
      return Invalid(field + ".test", "must name a test");
    }
    MLOPS_RETURN_IF_ERROR(CheckNonNegative(field + ".threshold", o.threshold()));
  }
  return absl::OkStatus();
}

v1::MonitoringConfig EffectiveConfig(const v1::MonitoringConfig& config) {
  v1::MonitoringConfig c = config;
  auto set_default = [](auto getter, auto setter, auto value) {
    if (getter() == 0) setter(value);
  };
  set_default([&] { return c.window_micros(); }, [&](int64_t v) { c.set_window_micros(v); },
              60 * kSecondMicros);
  set_default([&] { return c.raw_retention_micros(); },
              [&](int64_t v) { c.set_raw_retention_micros(v); }, 7 * kDayMicros);
  set_default([&] { return c.window_retention_micros(); },
              [&](int64_t v) { c.set_window_retention_micros(v); }, 90 * kDayMicros);
  set_default([&] { return c.label_ttl_micros(); }, [&](int64_t v) { c.set_label_ttl_micros(v); },
              7 * kDayMicros);
  set_default([&] { return c.allowed_lateness_micros(); },
              [&](int64_t v) { c.set_allowed_lateness_micros(v); }, c.window_micros());
  set_default([&] { return c.max_raw_values_per_feature(); },
              [&](int64_t v) { c.set_max_raw_values_per_feature(v); }, int64_t{100000});
  set_default([&] { return c.dataset_drift_share(); },
              [&](double v) { c.set_dataset_drift_share(v); }, 0.5);
  v1::DriftThresholds* t = c.mutable_thresholds();
  if (t->psi() == 0) t->set_psi(0.1);
  if (t->ks_p_value() == 0) t->set_ks_p_value(0.05);
  if (t->chi_square_p_value() == 0) t->set_chi_square_p_value(0.05);
  if (t->jensen_shannon() == 0) t->set_jensen_shannon(0.1);
  if (t->wasserstein_normed() == 0) t->set_wasserstein_normed(0.1);
  return c;
}

DriftSettings DriftSettingsFromConfig(const v1::MonitoringConfig& c) {
  DriftSettings s;
  s.dataset_drift_share = c.dataset_drift_share();
  s.thresholds[StatTest::kPsi] = c.thresholds().psi();
  s.thresholds[StatTest::kKolmogorovSmirnov] = c.thresholds().ks_p_value();
  s.thresholds[StatTest::kChiSquare] = c.thresholds().chi_square_p_value();
  s.thresholds[StatTest::kJensenShannon] = c.thresholds().jensen_shannon();
  s.thresholds[StatTest::kWasserstein] = c.thresholds().wasserstein_normed();
  for (const v1::FeatureTestOverride& o : c.overrides()) {
    StatTestOverride so;
    so.test = StatTestOf(o.test());
    if (o.threshold() != 0) so.threshold = o.threshold();
    s.overrides[o.feature()] = so;
  }
  return s;
}

absl::Status ValidateModelVersion(const std::string& model, int64_t version) {
  MLOPS_RETURN_IF_ERROR(ingestion::ValidateName("model", model));
  if (version < 1) return absl::InvalidArgumentError(absl::StrCat("version: ", version, " < 1"));
  return absl::OkStatus();
}

absl::Status ValidateAlertPolicy(const v1::AlertPolicy& p) {
  MLOPS_RETURN_IF_ERROR(ingestion::ValidateName("policy.model", p.model()));
  MLOPS_RETURN_IF_ERROR(ingestion::ValidateName("policy.name", p.name()));
  if (p.version() < 0) return Invalid("policy.version", "negative");
  if (p.metric() == v1::ALERT_METRIC_UNSPECIFIED || !v1::AlertMetric_IsValid(p.metric())) {
    return Invalid("policy.metric", "unknown or unspecified metric");
  }
  const bool feature_metric = p.metric() == v1::ALERT_METRIC_FEATURE_DRIFT;
  if (feature_metric && p.feature().empty()) {
    return Invalid("policy.feature", "required for FEATURE_DRIFT");
  }
  if (!feature_metric && !p.feature().empty()) {
    return Invalid("policy.feature", "only allowed for FEATURE_DRIFT");
  }
  const bool drift_metric = feature_metric || p.metric() == v1::ALERT_METRIC_PREDICTION_DRIFT;
  if (!v1::Comparison_IsValid(p.comparison()) ||
      (!drift_metric && p.comparison() == v1::COMPARISON_UNSPECIFIED)) {
    return Invalid("policy.comparison", "required for this metric");
  }
  if (std::isnan(p.threshold())) return Invalid("policy.threshold", "NaN");
  if (p.window_micros() < 0) return Invalid("policy.window_micros", "negative");
  if (p.for_micros() < 0) return Invalid("policy.for_micros", "negative");
  if (p.min_samples() < 0) return Invalid("policy.min_samples", "negative");
  if (p.severity() == v1::SEVERITY_UNSPECIFIED || !v1::Severity_IsValid(p.severity())) {
    return Invalid("policy.severity", "required");
  }
  if (p.actions_size() > 10) return Invalid("policy.actions", "more than 10 actions");
  for (int i = 0; i < p.actions_size(); ++i) {
    const v1::AlertAction& a = p.actions(i);
    const std::string field = absl::StrCat("policy.actions[", i, "]");
    switch (a.action_case()) {
      case v1::AlertAction::kWebhook:
        if (!absl::StartsWith(a.webhook().url(), "http://") &&
            !absl::StartsWith(a.webhook().url(), "https://")) {
          return Invalid(field + ".webhook.url", "not an http(s) URL");
        }
        if (a.webhook().max_retries() < 0 || a.webhook().max_retries() > 10) {
          return Invalid(field + ".webhook.max_retries", "outside 0 .. 10");
        }
        if (a.webhook().timeout_micros() < 0) {
          return Invalid(field + ".webhook.timeout_micros", "negative");
        }
        if (a.webhook().headers_size() > 16) {
          return Invalid(field + ".webhook.headers", "more than 16");
        }
        break;
      case v1::AlertAction::kRetrain:
        if (a.retrain().trigger_id().empty()) {
          return Invalid(field + ".retrain.trigger_id", "empty");
        }
        break;
      case v1::AlertAction::kRollback:
        MLOPS_RETURN_IF_ERROR(
            ingestion::ValidateName(field + ".rollback.endpoint", a.rollback().endpoint()));
        break;
      default:
        return Invalid(field, "no action set");
    }
  }
  return absl::OkStatus();
}

WindowBinning BinningOf(const ReferenceData& reference) {
  WindowBinning b;
  for (const stats::ColumnProfile& c : reference.profile.columns) {
    if (!IsCategoricalColumn(c.type) && !c.histogram.edges.empty()) {
      b.edges[c.name] = c.histogram.edges;
    }
  }
  if (reference.prediction_profile.has_value() &&
      !reference.prediction_profile->histogram.edges.empty()) {
    b.edges[kPredictionFeature] = reference.prediction_profile->histogram.edges;
  }
  return b;
}

absl::StatusOr<LoggedValue> LoggedValueFromProto(const common::v1::Value& v, stats::DataType type) {
  LoggedValue out;
  const bool categorical = IsCategoricalColumn(type);
  const bool any = type == stats::DataType::kUnspecified;
  switch (v.kind_case()) {
    case common::v1::Value::KIND_NOT_SET:
      return out;
    case common::v1::Value::kStringValue:
      if (!categorical && !any) break;
      out.kind = LoggedValue::Kind::kText;
      out.text = v.string_value();
      return out;
    case common::v1::Value::kBoolValue:
      if (type != stats::DataType::kBool && !any) break;
      out.kind = LoggedValue::Kind::kText;
      out.text = v.bool_value() ? "true" : "false";
      return out;
    case common::v1::Value::kInt64Value:
      if (categorical) break;
      out.kind = LoggedValue::Kind::kNumber;
      out.number = static_cast<double>(v.int64_value());
      return out;
    case common::v1::Value::kDoubleValue:
      if (categorical) break;
      out.kind = LoggedValue::Kind::kNumber;
      out.number = v.double_value();
      return out;
    case common::v1::Value::kTimestampMicros:
      if (categorical) break;
      out.kind = LoggedValue::Kind::kNumber;
      out.number = static_cast<double>(v.timestamp_micros());
      return out;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("value type does not match the reference column type ",
                   std::string(stats::DataTypeName(type))));
}

void DriftReportToProto(const WindowDriftReport& report, bool omit_histograms,
                        v1::DriftReport* out) {
  for (const FeatureDriftOutcome& f : report.features) {
    FeatureToProto(f, omit_histograms, out->add_features());
  }
  FeatureToProto(report.prediction, omit_histograms, out->mutable_prediction());
  out->set_drifted_count(static_cast<int32_t>(report.dataset.drifted_features));
  out->set_computed_count(static_cast<int32_t>(report.dataset.total_features));
  out->set_drift_share(report.dataset.drifted_share);
  out->set_dataset_drift_share_threshold(report.dataset.share_threshold);
  out->set_dataset_drift(report.dataset.drifted);
}

}  // namespace mlops::monitoring
