#include "services/monitoring/proto_convert.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::monitoring {
namespace {

using ::testing::HasSubstr;

v1::MonitoringConfig GoodConfig() {
  v1::MonitoringConfig c;
  c.set_model("fraud");
  c.set_window_micros(10 * kSecondMicros);
  return c;
}

void ExpectInvalid(const absl::Status& s, const std::string& field) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(field));
}

TEST(MonitoringConfigValidationTest, AcceptsDefaultsAndAGoodWindow) {
  EXPECT_TRUE(ValidateMonitoringConfig(GoodConfig()).ok());
  v1::MonitoringConfig c;
  c.set_model("fraud");
  EXPECT_TRUE(ValidateMonitoringConfig(c).ok());
}

TEST(MonitoringConfigValidationTest, RejectsWindowsOutsideTheRangeOrNotDividingADay) {
  for (int64_t w :
       {int64_t{5} * kSecondMicros, 2 * kDayMicros, 7 * kSecondMicros * 1000 + 1, int64_t{-1}}) {
    v1::MonitoringConfig c = GoodConfig();
    c.set_window_micros(w);
    ExpectInvalid(ValidateMonitoringConfig(c), "config.window_micros");
  }
}

TEST(MonitoringConfigValidationTest, RejectsNegativeDurationsAndBadThresholds) {
  v1::MonitoringConfig c = GoodConfig();
  c.set_label_ttl_micros(-1);
  ExpectInvalid(ValidateMonitoringConfig(c), "config.label_ttl_micros");
  c = GoodConfig();
  c.set_raw_retention_micros(-5);
  ExpectInvalid(ValidateMonitoringConfig(c), "config.raw_retention_micros");
  c = GoodConfig();
  c.mutable_thresholds()->set_ks_p_value(1.5);
  ExpectInvalid(ValidateMonitoringConfig(c), "config.thresholds.ks_p_value");
  c = GoodConfig();
  c.set_dataset_drift_share(1.01);
  ExpectInvalid(ValidateMonitoringConfig(c), "config.dataset_drift_share");
}

TEST(MonitoringConfigValidationTest, RejectsBadOverrides) {
  v1::MonitoringConfig c = GoodConfig();
  c.add_overrides()->set_test(v1::DRIFT_TEST_KS);
  ExpectInvalid(ValidateMonitoringConfig(c), "config.overrides[0].feature");
  c = GoodConfig();
  c.add_overrides()->set_feature("amount");
  ExpectInvalid(ValidateMonitoringConfig(c), "config.overrides[0].test");
  c = GoodConfig();
  for (int i = 0; i < 2; ++i) {
    v1::FeatureTestOverride* o = c.add_overrides();
    o->set_feature("amount");
    o->set_test(v1::DRIFT_TEST_PSI);
  }
  ExpectInvalid(ValidateMonitoringConfig(c), "config.overrides[1].feature");
}

TEST(MonitoringConfigValidationTest, EffectiveConfigFillsDocumentedDefaults) {
  v1::MonitoringConfig c;
  c.set_model("fraud");
  const v1::MonitoringConfig e = EffectiveConfig(c);
  EXPECT_EQ(e.window_micros(), 60 * kSecondMicros);
  EXPECT_EQ(e.allowed_lateness_micros(), 60 * kSecondMicros);
  EXPECT_EQ(e.max_raw_values_per_feature(), 100000);
  EXPECT_EQ(e.dataset_drift_share(), 0.5);
  EXPECT_EQ(e.thresholds().ks_p_value(), 0.05);
  EXPECT_EQ(e.thresholds().wasserstein_normed(), 0.1);
}

v1::AlertPolicy GoodPolicy() {
  v1::AlertPolicy p;
  p.set_model("fraud");
  p.set_name("amount_drift");
  p.set_metric(v1::ALERT_METRIC_FEATURE_DRIFT);
  p.set_feature("amount");
  p.set_severity(v1::SEVERITY_WARNING);
  p.add_actions()->mutable_webhook()->set_url("https://example.invalid/hook");
  return p;
}

TEST(AlertPolicyValidationTest, AcceptsAGoodPolicy) {
  EXPECT_TRUE(ValidateAlertPolicy(GoodPolicy()).ok());
}

TEST(AlertPolicyValidationTest, RejectsUnknownMetric) {
  v1::AlertPolicy p = GoodPolicy();
  p.set_metric(v1::ALERT_METRIC_UNSPECIFIED);
  ExpectInvalid(ValidateAlertPolicy(p), "policy.metric");
  p.set_metric(static_cast<v1::AlertMetric>(99));
  ExpectInvalid(ValidateAlertPolicy(p), "policy.metric");
}

TEST(AlertPolicyValidationTest, RejectsNegativeWindowAndForDuration) {
  v1::AlertPolicy p = GoodPolicy();
  p.set_window_micros(-1);
  ExpectInvalid(ValidateAlertPolicy(p), "policy.window_micros");
  p = GoodPolicy();
  p.set_for_micros(-1);
  ExpectInvalid(ValidateAlertPolicy(p), "policy.for_micros");
}

TEST(AlertPolicyValidationTest, RejectsFeatureMismatchComparisonAndActions) {
  v1::AlertPolicy p = GoodPolicy();
  p.clear_feature();
  ExpectInvalid(ValidateAlertPolicy(p), "policy.feature");
  p = GoodPolicy();
  p.set_metric(v1::ALERT_METRIC_ACCURACY);
  p.clear_feature();
  ExpectInvalid(ValidateAlertPolicy(p), "policy.comparison");
  p = GoodPolicy();
  p.mutable_actions(0)->mutable_webhook()->set_url("ftp://x");
  ExpectInvalid(ValidateAlertPolicy(p), "policy.actions[0].webhook.url");
  p = GoodPolicy();
  p.mutable_actions(0)->mutable_webhook()->set_max_retries(11);
  ExpectInvalid(ValidateAlertPolicy(p), "policy.actions[0].webhook.max_retries");
  p = GoodPolicy();
  p.set_severity(v1::SEVERITY_UNSPECIFIED);
  ExpectInvalid(ValidateAlertPolicy(p), "policy.severity");
}

TEST(LoggedValueTest, MatchesValuesToTheReferenceType) {
  common::v1::Value v;
  v.set_string_value("red");
  EXPECT_TRUE(LoggedValueFromProto(v, stats::DataType::kString).ok());
  EXPECT_EQ(LoggedValueFromProto(v, stats::DataType::kDouble).status().code(),
            absl::StatusCode::kInvalidArgument);
  v.set_int64_value(3);
  absl::StatusOr<LoggedValue> x = LoggedValueFromProto(v, stats::DataType::kDouble);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->number, 3.0);
  v.set_bool_value(true);
  absl::StatusOr<LoggedValue> b = LoggedValueFromProto(v, stats::DataType::kBool);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->text, "true");
}

}  // namespace
}  // namespace mlops::monitoring
