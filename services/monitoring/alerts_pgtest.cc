// The alert loop over Postgres: policies evaluated on drift, error rate and
// accuracy with debounce (PENDING -> FIRING -> RESOLVED), alerts stored and
// listed, resolved when their policy is deleted, and WatchAlerts streams.
#include <string>
#include <thread>
#include <vector>

#include "common/testing/metric_values.h"
#include "gtest/gtest.h"
#include "absl/time/clock.h"
#include "prometheus/registry.h"
#include "services/monitoring/action_runner.h"
#include "services/monitoring/metrics.h"
#include "services/monitoring/monitoring_pgtest_fixture.h"

namespace mlops::monitoring {
namespace {

constexpr int64_t kSecond = 1'000'000;

class AlertsPgTest : public MonitoringServicePgTest {
 protected:
  // n predictions in the window starting at `start`; "shifted" moved by `shift`.
  v1::LogPredictionsRequest At(int64_t start, int n, double shift) {
    v1::LogPredictionsRequest req = Predictions(n);
    for (int i = 0; i < n; ++i) {
      v1::PredictionRecord* r = req.mutable_records(i);
      r->set_request_id("w" + std::to_string(start) + "-" + std::to_string(i));
      r->set_timestamp_micros(start + i);
      r->mutable_features()->mutable_values(1)->set_double_value(
          r->features().values(1).double_value() - 1.5 + shift);
    }
    return req;
  }

  void SetPolicy(v1::AlertPolicy p) {
    p.set_model("fraud");
    if (p.severity() == v1::SEVERITY_UNSPECIFIED) p.set_severity(v1::SEVERITY_WARNING);
    v1::SetAlertPolicyRequest req;
    *req.mutable_policy() = p;
    v1::AlertPolicy resp;
    grpc::Status s = stub_->SetAlertPolicy(As("t-deployer").get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  std::vector<v1::Alert> List(v1::ListAlertsRequest req = {}) {
    v1::ListAlertsResponse resp;
    grpc::Status s = stub_->ListAlerts(As("t-viewer").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.alerts().begin(), resp.alerts().end()};
  }

  void Evaluate() { ASSERT_TRUE(service_->alerts()->EvaluateOnce().ok()); }
};

v1::AlertPolicy DriftPolicy() {
  v1::AlertPolicy p;
  p.set_name("shifted_drift");
  p.set_metric(v1::ALERT_METRIC_FEATURE_DRIFT);
  p.set_feature("shifted");
  p.set_for_micros(10 * kSecond);
  return p;
}

TEST_F(AlertsPgTest, DriftAlertDebouncesFiresAndResolves) {
  ASSERT_TRUE(SetRowsReference().ok());
  SetPolicy(DriftPolicy());
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({At(kNow - kMinute, 400, 1.5)}, &logged).ok());

  now_ = kNow + 1;  // the drifted window has closed
  Evaluate();
  std::vector<v1::Alert> alerts = List();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].id(), "alert-1");
  EXPECT_EQ(alerts[0].state(), v1::ALERT_STATE_PENDING);
  EXPECT_EQ(alerts[0].version(), 1);
  EXPECT_EQ(alerts[0].pending_since_micros(), kNow + 1);
  EXPECT_EQ(alerts[0].window().start_micros(), kNow - kMinute);
  EXPECT_NE(alerts[0].summary().find("feature shifted drift"), std::string::npos)
      << alerts[0].summary();

  now_ = kNow + 5 * kSecond;  // still within the for-duration
  Evaluate();
  EXPECT_EQ(List()[0].state(), v1::ALERT_STATE_PENDING);
  now_ = kNow + 10 * kSecond + 1;
  Evaluate();
  alerts = List();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_EQ(alerts[0].fired_at_micros(), kNow + 10 * kSecond + 1);

  // The next window is not drifted: the alert resolves.
  ASSERT_TRUE(Log({At(kNow, 400, 0)}, &logged).ok());
  now_ = kNow + kMinute + 1;
  Evaluate();
  v1::GetAlertRequest get;
  get.set_id("alert-1");
  v1::Alert alert;
  ASSERT_TRUE(stub_->GetAlert(As("t-viewer").get(), get, &alert).ok());
  EXPECT_EQ(alert.state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(alert.resolved_at_micros(), kNow + kMinute + 1);
  EXPECT_EQ(alert.fired_at_micros(), kNow + 10 * kSecond + 1);
}

TEST_F(AlertsPgTest, TooFewSamplesDoNotAlert) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::AlertPolicy p = DriftPolicy();
  p.set_min_samples(1000);
  SetPolicy(p);
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({At(kNow - kMinute, 400, 1.5)}, &logged).ok());
  now_ = kNow + 1;
  Evaluate();
  EXPECT_TRUE(List().empty());
}

// Drift that starts late in a 10 s window (too little of it to flag that
// window) fires from the span ending with the next, still open window (the
// closed window plus the open one) as soon as the drifted predictions show:
// before the first window's end + 5 s, not at the next window's end.
TEST_F(AlertsPgTest, DriftLateInAWindowFiresFromTheOpenWindow) {
  constexpr int64_t kWindow = 10 * kSecond;
  ASSERT_TRUE(SetRowsReference().ok());
  v1::SetMonitoringConfigRequest set;
  set.mutable_config()->set_model("fraud");
  set.mutable_config()->set_window_micros(kWindow);
  v1::MonitoringConfig config;
  ASSERT_TRUE(stub_->SetMonitoringConfig(As("t-editor").get(), set, &config).ok());
  v1::AlertPolicy p = DriftPolicy();
  p.set_for_micros(0);
  SetPolicy(p);
  // [kNow, kNow + 10 s): 400 calm predictions, then 20 drifted from 9.5 s.
  v1::LogPredictionsRequest calm = At(kNow, 400, 0);
  v1::LogPredictionsRequest late = At(kNow + 9'500'000, 20, 1.5);
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({calm, late}, &logged).ok());
  ASSERT_EQ(logged.accepted(), 420);

  now_ = kNow + kWindow + 1;  // the first window closed: too little drift to flag it
  Evaluate();
  EXPECT_TRUE(List().empty());

  // The next window, still open, holds 150 drifted predictions by 11.5 s.
  ASSERT_TRUE(Log({At(kNow + kWindow, 150, 1.5)}, &logged).ok());
  now_ = kNow + kWindow + 1'500'000;
  Evaluate();
  std::vector<v1::Alert> alerts = List();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_LE(alerts[0].fired_at_micros(), kNow + kWindow + 5 * kSecond);
  EXPECT_EQ(alerts[0].window().start_micros(), kNow);
  EXPECT_EQ(alerts[0].window().end_micros(), kNow + 2 * kWindow);
  EXPECT_NE(alerts[0].summary().find("open window so far"), std::string::npos)
      << alerts[0].summary();

  // That window closes drifted: the same alert keeps firing (no second one).
  now_ = kNow + 2 * kWindow + 1;
  Evaluate();
  alerts = List();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state(), v1::ALERT_STATE_FIRING);
}

TEST_F(AlertsPgTest, ErrorRateFiresAtOnceAndPolicyDeletionResolves) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::AlertPolicy p;
  p.set_name("errors");
  p.set_metric(v1::ALERT_METRIC_ERROR_RATE);
  p.set_comparison(v1::COMPARISON_GREATER_OR_EQUAL);
  p.set_threshold(0.2);
  p.set_min_samples(10);
  p.set_severity(v1::SEVERITY_CRITICAL);
  p.add_actions()->mutable_retrain()->set_trigger_id("fraud_retrain");
  SetPolicy(p);
  v1::LogPredictionsRequest req = At(kNow - kMinute, 100, 0);
  for (int i = 0; i < 30; ++i) {
    req.mutable_records(i)->clear_prediction();
    req.mutable_records(i)->set_error_code("UNAVAILABLE");
  }
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({req}, &logged).ok());
  now_ = kNow + 1;
  Evaluate();
  std::vector<v1::Alert> alerts = List();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_DOUBLE_EQ(alerts[0].value(), 0.3);
  EXPECT_EQ(alerts[0].severity(), v1::SEVERITY_CRITICAL);
  // No action runner in this fixture: the action stays PENDING.
  ASSERT_EQ(alerts[0].actions_size(), 1);
  EXPECT_EQ(alerts[0].actions(0).kind(), v1::ACTION_KIND_RETRAIN);
  EXPECT_EQ(alerts[0].actions(0).target(), "fraud_retrain");

  v1::DeleteAlertPolicyRequest del;
  del.set_model("fraud");
  del.set_name("errors");
  v1::DeleteAlertPolicyResponse deleted;
  ASSERT_TRUE(stub_->DeleteAlertPolicy(As("t-deployer").get(), del, &deleted).ok());
  EXPECT_EQ(deleted.resolved_alerts(), 1);
  alerts = List();
  EXPECT_EQ(alerts[0].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(alerts[0].summary(), "policy deleted");
}

TEST_F(AlertsPgTest, AccuracyPolicyUsesJoinedLabels) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::AlertPolicy p;
  p.set_name("accuracy");
  p.set_metric(v1::ALERT_METRIC_ACCURACY);
  p.set_comparison(v1::COMPARISON_LESS);
  p.set_threshold(0.9);
  p.set_min_samples(50);
  SetPolicy(p);
  v1::LogPredictionsRequest req = At(kNow - kMinute, 100, 0);  // score 0.5: positive
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({req}, &logged).ok());
  v1::LogGroundTruthRequest labels;
  for (int i = 0; i < 100; ++i) {
    v1::GroundTruth* g = labels.add_labels();
    g->set_request_id(req.records(i).request_id());
    g->mutable_label()->set_bool_value(i % 2 == 0);  // accuracy 0.5
  }
  v1::LogGroundTruthResponse lresp;
  ASSERT_TRUE(stub_->LogGroundTruth(As("t-editor").get(), labels, &lresp).ok());
  now_ = kNow + 1;
  Evaluate();
  std::vector<v1::Alert> alerts = List();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].state(), v1::ALERT_STATE_FIRING);
  EXPECT_DOUBLE_EQ(alerts[0].value(), 0.5);
}

TEST_F(AlertsPgTest, DisablingAPolicyResolvesItsAlerts) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::AlertPolicy p = DriftPolicy();
  SetPolicy(p);
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({At(kNow - kMinute, 400, 1.5)}, &logged).ok());
  now_ = kNow + 1;
  Evaluate();
  ASSERT_EQ(List()[0].state(), v1::ALERT_STATE_PENDING);
  p.set_disabled(true);
  SetPolicy(p);
  EXPECT_EQ(List()[0].state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(List()[0].summary(), "policy disabled");
  now_ = kNow + kMinute - 1;  // still the same closed window: not re-opened
  Evaluate();
  EXPECT_EQ(List().size(), 1u);
}

TEST_F(AlertsPgTest, ListAndGetErrors) {
  v1::GetAlertRequest get;
  get.set_id("alert-42");
  v1::Alert alert;
  EXPECT_EQ(stub_->GetAlert(As("t-viewer").get(), get, &alert).error_code(),
            grpc::StatusCode::NOT_FOUND);
  get.set_id("nonsense");
  EXPECT_EQ(stub_->GetAlert(As("t-viewer").get(), get, &alert).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListAlertsRequest list;
  list.mutable_page()->set_page_token("bad");
  v1::ListAlertsResponse resp;
  EXPECT_EQ(stub_->ListAlerts(As("t-viewer").get(), list, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  list.clear_page();
  list.mutable_range()->set_start_micros(10);
  list.mutable_range()->set_end_micros(5);
  EXPECT_EQ(stub_->ListAlerts(As("t-viewer").get(), list, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(stub_->ListAlerts(As("").get(), v1::ListAlertsRequest(), &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AlertsPgTest, WatchSendsSnapshotChangesAndEndsOnDrain) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::AlertPolicy p = DriftPolicy();
  p.set_for_micros(0);
  SetPolicy(p);
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({At(kNow - kMinute, 400, 1.5)}, &logged).ok());
  now_ = kNow + 1;
  Evaluate();  // alert-1 FIRING before the watch starts

  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer t-viewer");
  v1::WatchAlertsRequest req;
  req.set_model("fraud");
  auto reader = stub_->WatchAlerts(&ctx, req);
  v1::WatchAlertsResponse r;
  ASSERT_TRUE(reader->Read(&r));
  EXPECT_EQ(r.kind(), v1::ALERT_UPDATE_KIND_SNAPSHOT);
  EXPECT_EQ(r.alert().id(), "alert-1");
  ASSERT_TRUE(reader->Read(&r));
  EXPECT_EQ(r.kind(), v1::ALERT_UPDATE_KIND_SNAPSHOT_COMPLETE);

  // The policy changes what it watches: the alert resolves (a CHANGE).
  p.set_comparison(v1::COMPARISON_GREATER_OR_EQUAL);
  p.set_threshold(0.9);
  SetPolicy(p);
  ASSERT_TRUE(reader->Read(&r));
  EXPECT_EQ(r.kind(), v1::ALERT_UPDATE_KIND_CHANGE);
  EXPECT_EQ(r.alert().state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(r.alert().summary(), "policy changed");

  service_->alert_hub()->Close();  // what the drain hook does
  while (reader->Read(&r)) {
  }
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

class AlertMetricsPgTest : public AlertsPgTest {
 protected:
  void Configure(MonitoringServiceOptions& options) override {
    options.alert_gauges = &metrics_;
    options.drift_gauges = &metrics_;
  }
  prometheus::Registry registry_;
  MonitoringMetrics metrics_{&registry_};
};

TEST_F(AlertMetricsPgTest, FiringGaugeAndDriftScores) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::AlertPolicy p = DriftPolicy();
  p.set_for_micros(0);
  p.set_severity(v1::SEVERITY_CRITICAL);
  SetPolicy(p);
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({At(kNow - kMinute, 400, 1.5)}, &logged).ok());
  now_ = kNow + 1;
  Evaluate();
  EXPECT_EQ(::mlops::MetricValue(registry_, "mlops_monitoring_alerts_firing",
                                 {{"model", "fraud"}, {"policy", "shifted_drift"},
                                  {"severity", "critical"}}),
            1.0);
  std::optional<double> shifted = ::mlops::MetricValue(
      registry_, "mlops_monitoring_drift_score", {{"model", "fraud"}, {"feature", "shifted"}});
  std::optional<double> stable = ::mlops::MetricValue(
      registry_, "mlops_monitoring_drift_score", {{"model", "fraud"}, {"feature", "stable"}});
  ASSERT_TRUE(shifted.has_value());
  ASSERT_TRUE(stable.has_value());
  EXPECT_GT(*shifted, *stable);

  v1::DeleteAlertPolicyRequest del;
  del.set_model("fraud");
  del.set_name("shifted_drift");
  v1::DeleteAlertPolicyResponse deleted;
  ASSERT_TRUE(stub_->DeleteAlertPolicy(As("t-deployer").get(), del, &deleted).ok());
  EXPECT_EQ(::mlops::MetricValue(registry_, "mlops_monitoring_alerts_firing",
                                 {{"model", "fraud"}, {"policy", "shifted_drift"}}),
            0.0);
}

// A training peer stand-in recording which alert fired it.
class RecordingRetrain : public RetrainClient {
 public:
  absl::StatusOr<std::string> Fire(const std::string& trigger_id, const v1::Alert& alert) override {
    absl::MutexLock lock(&mu_);
    fired.push_back(trigger_id + " " + alert.id());
    return std::string("job-1 STARTED");
  }
  absl::Mutex mu_;
  std::vector<std::string> fired;
};

class AlertActionsPgTest : public AlertsPgTest {
 protected:
  void Configure(MonitoringServiceOptions& options) override {
    options.alert_actions = &runner_;
  }
  // The workers report into the service: stop them before it goes.
  void TearDown() override {
    runner_.Stop();
    AlertsPgTest::TearDown();
  }
  RecordingRetrain retrain_;
  ActionRunner runner_{&retrain_, nullptr};
};

TEST_F(AlertActionsPgTest, FiringRunsActionsAndStoresTheirOutcome) {
  runner_.SetResultSink([this](const std::string& id, int index, const v1::ActionResult& r) {
    service_->alerts()->RecordAction(id, index, r);
  });
  runner_.Start();
  ASSERT_TRUE(SetRowsReference().ok());
  v1::AlertPolicy p = DriftPolicy();
  p.set_for_micros(0);
  p.add_actions()->mutable_retrain()->set_trigger_id("fraud_retrain");
  p.add_actions()->mutable_rollback()->set_endpoint("fraud_ep");  // no gateway peer
  SetPolicy(p);
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({At(kNow - kMinute, 400, 1.5)}, &logged).ok());
  now_ = kNow + 1;
  Evaluate();
  // Actions run on the runner's workers; poll the stored alert (bounded).
  v1::Alert alert;
  for (int i = 0; i < 100; ++i) {
    v1::GetAlertRequest get;
    get.set_id("alert-1");
    ASSERT_TRUE(stub_->GetAlert(As("t-viewer").get(), get, &alert).ok());
    if (alert.actions_size() == 2 && alert.actions(0).status() == v1::ACTION_STATUS_SUCCEEDED &&
        alert.actions(1).status() == v1::ACTION_STATUS_FAILED) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(alert.actions_size(), 2);
  EXPECT_EQ(alert.actions(0).status(), v1::ACTION_STATUS_SUCCEEDED);
  EXPECT_EQ(alert.actions(0).result(), "job-1 STARTED");
  EXPECT_EQ(alert.actions(0).target(), "fraud_retrain");
  EXPECT_EQ(alert.actions(1).status(), v1::ACTION_STATUS_FAILED);
  EXPECT_NE(alert.actions(1).last_error().find("no gateway peer"), std::string::npos);
  runner_.Stop();
  absl::MutexLock lock(&retrain_.mu_);
  EXPECT_EQ(retrain_.fired, std::vector<std::string>{"fraud_retrain alert-1"});
}

}  // namespace
}  // namespace mlops::monitoring
