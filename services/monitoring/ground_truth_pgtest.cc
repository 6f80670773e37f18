// LogGroundTruth and GetPerformance over Postgres: labels joining logged
// predictions (before and after the prediction), quality per window,
// corrections, TTL expiry, and the status codes of bad input.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/monitoring/monitoring_pgtest_fixture.h"

namespace mlops::monitoring {
namespace {

constexpr int64_t kDay = 86'400'000'000;

class GroundTruthPgTest : public MonitoringServicePgTest {
 protected:
  // n predictions (ids req-0 ..), scores 0.1 / 0.35 / 0.6 / 0.85 by i % 4.
  v1::LogPredictionsRequest Scored(int n) {
    v1::LogPredictionsRequest req = Predictions(n);
    for (int i = 0; i < n; ++i) {
      req.mutable_records(i)->mutable_prediction()->set_score(0.1 + 0.25 * (i % 4));
    }
    return req;
  }

  v1::LogGroundTruthResponse Label(const std::vector<std::pair<std::string, common::v1::Value>>& l,
                                   grpc::Status* status = nullptr) {
    v1::LogGroundTruthRequest req;
    for (const auto& [id, value] : l) {
      v1::GroundTruth* g = req.add_labels();
      g->set_request_id(id);
      *g->mutable_label() = value;
    }
    v1::LogGroundTruthResponse resp;
    grpc::Status s = stub_->LogGroundTruth(As("t-editor").get(), req, &resp);
    if (status != nullptr) {
      *status = s;
    } else {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    return resp;
  }

  v1::GetPerformanceResponse Performance(v1::GetPerformanceRequest req = {}) {
    req.set_model("fraud");
    v1::GetPerformanceResponse resp;
    grpc::Status s = stub_->GetPerformance(As("t-viewer").get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
};

common::v1::Value Bool(bool b) {
  common::v1::Value v;
  v.set_bool_value(b);
  return v;
}

TEST_F(GroundTruthPgTest, LabelsJoinAndGiveQualityPerWindow) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({Scored(400)}, &logged).ok());
  // Labels for the first 200: positive only where the score is 0.6, so
  // accuracy 3/4 (0.85 is a false positive) and AUC 2/3.
  std::vector<std::pair<std::string, common::v1::Value>> labels;
  for (int i = 0; i < 200; ++i) labels.emplace_back("req-" + std::to_string(i), Bool(i % 4 == 2));
  v1::LogGroundTruthResponse resp = Label(labels);
  EXPECT_EQ(resp.accepted(), 200);
  EXPECT_EQ(resp.joined(), 200);
  EXPECT_EQ(resp.pending(), 0);
  EXPECT_EQ(resp.first_rejected_index(), -1);

  v1::GetPerformanceResponse perf = Performance();
  ASSERT_EQ(perf.windows_size(), 1);
  const v1::PerformanceWindow& w = perf.windows(0);
  EXPECT_EQ(w.version(), 1);
  EXPECT_EQ(w.window_start_micros(), kNow - kMinute);
  EXPECT_EQ(w.window_end_micros(), kNow);
  EXPECT_EQ(w.predictions(), 400);
  EXPECT_EQ(w.labelled(), 200);
  EXPECT_DOUBLE_EQ(w.label_coverage(), 0.5);
  ASSERT_TRUE(w.has_accuracy());
  EXPECT_DOUBLE_EQ(w.accuracy(), 0.75);
  ASSERT_TRUE(w.has_auc());
  EXPECT_NEAR(w.auc(), 2.0 / 3, 1e-12);
  EXPECT_TRUE(w.has_log_loss());
  EXPECT_FALSE(w.has_rmse());
  EXPECT_EQ(w.p99_latency_micros(), 1000);
  EXPECT_EQ(w.error_rate(), 0);
}

TEST_F(GroundTruthPgTest, LabelBeforeItsPredictionIsPendingThenJoins) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::LogGroundTruthResponse resp = Label({{"req-0", Bool(false)}, {"req-2", Bool(true)}});
  EXPECT_EQ(resp.pending(), 2);
  EXPECT_EQ(resp.joined(), 0);
  EXPECT_EQ(Performance().pending_labels(), 2);

  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({Scored(4)}, &logged).ok());
  v1::GetPerformanceResponse perf = Performance();
  EXPECT_EQ(perf.pending_labels(), 0);
  ASSERT_EQ(perf.windows_size(), 1);
  EXPECT_EQ(perf.windows(0).labelled(), 2);
  EXPECT_DOUBLE_EQ(perf.windows(0).accuracy(), 1.0);
  EXPECT_DOUBLE_EQ(perf.windows(0).auc(), 1.0);
}

TEST_F(GroundTruthPgTest, UnknownRequestIdExpiresAfterTheTtl) {
  ASSERT_TRUE(SetRowsReference().ok());
  EXPECT_EQ(Label({{"never-logged", Bool(true)}}).pending(), 1);
  now_ = kNow + 7 * kDay + 1;  // the default TTL is 7 days
  v1::GetPerformanceRequest req;
  req.mutable_range()->set_start_micros(kNow);
  req.mutable_range()->set_end_micros(now_ + 1);
  v1::GetPerformanceResponse perf = Performance(req);
  EXPECT_EQ(perf.pending_labels(), 0);
  EXPECT_EQ(perf.expired_labels(), 1);
  // An expired label no longer joins a prediction that comes later.
  v1::LogPredictionsRequest late = Scored(1);
  late.mutable_records(0)->set_request_id("never-logged");
  late.mutable_records(0)->set_timestamp_micros(now_);
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({late}, &logged).ok());
  EXPECT_EQ(logged.accepted(), 1);
  perf = Performance(req);
  ASSERT_EQ(perf.windows_size(), 1);
  EXPECT_EQ(perf.windows(0).labelled(), 0);
}

TEST_F(GroundTruthPgTest, PendingLabelsSurviveARestart) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::LogGroundTruthResponse resp =
      Label({{"req-1", Bool(true)}, {"never-logged", Bool(false)}, {"req-3", Bool(true)}});
  EXPECT_EQ(resp.pending(), 3);
  now_ = kNow + kDay;
  EXPECT_EQ(Label({{"late-label", Bool(true)}}).pending(), 1);  // received a day later

  RestartService();
  EXPECT_EQ(Performance().pending_labels(), 0);  // memory is empty until the reload
  ASSERT_TRUE(service_->LoadPendingLabels().ok());
  EXPECT_EQ(Performance().pending_labels(), 4);

  // Their predictions arrive after the restart: req-1 and req-3 join.
  v1::LogPredictionsRequest predictions = Scored(4);
  for (int i = 0; i < 4; ++i) predictions.mutable_records(i)->set_timestamp_micros(now_ - 1000 + i);
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({predictions}, &logged).ok());
  EXPECT_EQ(Performance().pending_labels(), 2);

  // Each keeps its own TTL from when it was received: 7 days after kNow only
  // never-logged expires; a day later late-label too.
  v1::GetPerformanceRequest req;
  req.mutable_range()->set_start_micros(kNow);
  req.mutable_range()->set_end_micros(kNow + 9 * kDay);
  now_ = kNow + 7 * kDay + 1;
  v1::GetPerformanceResponse perf = Performance(req);
  EXPECT_EQ(perf.pending_labels(), 1);
  EXPECT_EQ(perf.expired_labels(), 1);
  now_ = kNow + 8 * kDay + 1;
  perf = Performance(req);
  EXPECT_EQ(perf.pending_labels(), 0);
  EXPECT_EQ(perf.expired_labels(), 2);

  // A second restart finds nothing pending: expired and joined labels stay.
  RestartService();
  ASSERT_TRUE(service_->LoadPendingLabels().ok());
  EXPECT_EQ(Performance().pending_labels(), 0);
}

TEST_F(GroundTruthPgTest, SecondLabelIsACorrection) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({Scored(4)}, &logged).ok());
  EXPECT_EQ(Label({{"req-3", Bool(false)}}).joined(), 1);  // score 0.85: wrong
  EXPECT_DOUBLE_EQ(Performance().windows(0).accuracy(), 0.0);
  v1::LogGroundTruthResponse resp = Label({{"req-3", Bool(true)}});
  EXPECT_EQ(resp.updated(), 1);
  EXPECT_EQ(resp.accepted(), 1);
  EXPECT_DOUBLE_EQ(Performance().windows(0).accuracy(), 1.0);
}

TEST_F(GroundTruthPgTest, RegressionLabelsGiveRmse) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({Scored(2)}, &logged).ok());  // scores 0.1 and 0.35
  Label({{"req-0", Double(1.1)}, {"req-1", Double(0.35)}});
  v1::GetPerformanceRequest req;
  req.set_aggregate(true);
  v1::GetPerformanceResponse perf = Performance(req);
  ASSERT_EQ(perf.windows_size(), 1);
  ASSERT_TRUE(perf.windows(0).has_rmse());
  EXPECT_NEAR(perf.windows(0).rmse(), std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(perf.windows(0).mae(), 0.5, 1e-12);
  EXPECT_FALSE(perf.windows(0).has_accuracy());
}

TEST_F(GroundTruthPgTest, BadLabels) {
  grpc::Status s;
  Label({}, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  Label({{"ok", Bool(true)}, {"", Bool(true)}}, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("labels[1].request_id"), std::string::npos);
  Label({{"ok", common::v1::Value()}}, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("labels[0].label: NULL"), std::string::npos);

  // A regression value for a classifier's prediction is rejected, not stored.
  ASSERT_TRUE(SetRowsReference().ok());
  v1::LogPredictionsRequest p = Scored(1);
  p.mutable_records(0)->mutable_prediction()->set_predicted_label("1");
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({p}, &logged).ok());
  v1::LogGroundTruthResponse resp = Label({{"x", Bool(true)}, {"req-0", Double(0.5)}});
  EXPECT_EQ(resp.rejected(), 1);
  EXPECT_EQ(resp.first_rejected_index(), 1);
  EXPECT_EQ(resp.accepted(), 1);

  v1::GetPerformanceRequest req;
  req.set_model("fraud");
  req.mutable_range()->set_start_micros(10);
  req.mutable_range()->set_end_micros(5);
  v1::GetPerformanceResponse perf;
  EXPECT_EQ(stub_->GetPerformance(As("t-viewer").get(), req, &perf).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.clear_range();
  req.mutable_page()->set_page_token("garbage");
  EXPECT_EQ(stub_->GetPerformance(As("t-viewer").get(), req, &perf).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::LogGroundTruthRequest lreq;
  lreq.add_labels()->set_request_id("a");
  v1::LogGroundTruthResponse lresp;
  EXPECT_EQ(stub_->LogGroundTruth(As("t-viewer").get(), lreq, &lresp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace mlops::monitoring
