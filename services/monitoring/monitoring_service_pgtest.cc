// MonitoringServiceImpl through in-process gRPC over a real Postgres store:
// a reference from inline rows, shifted predictions, the drift report
// flagging the shifted feature only, configuration and policy round trips,
// and the status codes of bad input.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/monitoring/monitoring_pgtest_fixture.h"
#include "services/monitoring/prediction_log_packing.h"
#include "services/monitoring/proto_convert.h"

namespace mlops::monitoring {
namespace {

using ::testing::HasSubstr;

TEST_F(MonitoringServicePgTest, DriftReportFlagsTheShiftedFeatureOnly) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::LogPredictionsResponse logged;
  grpc::Status s = Log({Predictions(400)}, &logged);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(logged.accepted(), 400);
  EXPECT_EQ(logged.rejected(), 0);
  EXPECT_EQ(counters_.accepted, 400);

  v1::GetDriftReportRequest req;
  req.set_model("fraud");
  v1::DriftReport report;
  s = stub_->GetDriftReport(As("t-viewer").get(), req, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(report.version(), 1);
  EXPECT_EQ(report.window_start_micros(), kNow - kMinute);
  EXPECT_EQ(report.current_row_count(), 400);
  EXPECT_EQ(report.reference_row_count(), 500);
  ASSERT_EQ(report.features_size(), 2);
  const v1::FeatureDrift& stable = report.features(0);
  const v1::FeatureDrift& shifted = report.features(1);
  EXPECT_EQ(stable.feature(), "stable");
  EXPECT_EQ(shifted.feature(), "shifted");
  EXPECT_EQ(shifted.test(), v1::DRIFT_TEST_KS);
  EXPECT_EQ(shifted.source(), v1::STATISTIC_SOURCE_EXACT);
  EXPECT_TRUE(shifted.drifted());
  EXPECT_FALSE(stable.drifted()) << stable.statistic() << " p=" << stable.p_value();
  EXPECT_GT(shifted.current_histogram().counts_size(), 0);
  EXPECT_EQ(report.drifted_count(), 1);
  EXPECT_EQ(report.computed_count(), 2);
  EXPECT_DOUBLE_EQ(report.drift_share(), 0.5);
  EXPECT_TRUE(report.dataset_drift());  // 0.5 >= the default share 0.5

  // Acknowledged rows are durable: in Postgres, with their columns, before
  // LogPredictions answered (no flush here). One message: one packed batch.
  int64_t stored = pool_
                       ->WithConnection([](pqxx::connection_base& c) {
                         pqxx::nontransaction tx(c);
                         return tx.exec("SELECT count(*) FROM prediction_requests")[0][0]
                             .as<int64_t>();
                       })
                       .value();
  EXPECT_EQ(stored, 400);
  const PredictionLogBatch batch =
      pool_
          ->WithConnection([](pqxx::connection_base& c) -> absl::StatusOr<PredictionLogBatch> {
            pqxx::nontransaction tx(c);
            pqxx::row r = tx.exec1(
                "SELECT b.model, b.version, b.endpoint, b.variant, b.row_count, b.meta, "
                "b.features, r.row_index FROM prediction_batches b JOIN prediction_requests r "
                "USING (batch_id) WHERE r.request_id = 'req-7'");
            EXPECT_EQ(r[7].as<int>(), 7);
            return UnpackPredictionBatch({r[0].as<std::string>(), r[1].as<int64_t>(),
                                          r[2].as<std::string>(), r[3].as<int32_t>()},
                                         r[4].as<size_t>(), pqxx::binarystring(r[5]).str(),
                                         pqxx::binarystring(r[6]).str());
          })
          .value();
  v1::LogPredictionsRequest sent = Predictions(400);
  ASSERT_EQ(batch.size(), 400u);
  EXPECT_EQ(batch.model(), "fraud");
  EXPECT_EQ(batch.version(), 1);
  EXPECT_EQ(batch.endpoint(), "fraud_ep");
  EXPECT_EQ(batch.request_id(7), "req-7");
  EXPECT_EQ(batch.timestamp_micros(7), kNow - kMinute + 7);
  EXPECT_EQ(batch.score(7), 0.5);
  EXPECT_EQ(batch.latency_micros(7), 1000);
  EXPECT_EQ(batch.features(7), sent.records(7).features().SerializeAsString());
}

TEST_F(MonitoringServicePgTest, ReferenceSurvivesARestartOfTheCache) {
  ASSERT_TRUE(SetRowsReference().ok());
  MonitoringServiceImpl fresh(store_.get(), windows_.get(), writer_.get(), authorizer_.get(),
                              &counters_);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto server, GrpcTestServer::Start({&fresh}));
  auto stub = v1::MonitoringService::NewStub(server->InProcessChannel());
  v1::GetReferenceRequest req;
  req.set_model("fraud");
  req.set_version(1);
  v1::Reference ref;
  grpc::Status s = stub->GetReference(As("t-viewer").get(), req, &ref);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(ref.source(), v1::REFERENCE_SOURCE_INLINE_ROWS);
  EXPECT_EQ(ref.profile().columns_size(), 2);
  EXPECT_EQ(ref.raw_values_per_feature(), 500);
  EXPECT_EQ(ref.set_by(), "alice");
}

TEST_F(MonitoringServicePgTest, UnknownModelVersionIsCountedAndRejected) {
  v1::LogPredictionsResponse logged;
  grpc::Status s = Log({Predictions(10)}, &logged);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(logged.accepted(), 0);
  EXPECT_EQ(logged.rejected(), 10);
  ASSERT_EQ(logged.rejections_size(), 1);
  EXPECT_EQ(logged.rejections(0).reason(), v1::REJECTION_REASON_UNKNOWN_MODEL_VERSION);
  EXPECT_EQ(logged.rejections(0).example(), "model fraud@1 unknown");
  EXPECT_EQ(counters_.rejected, 10);
}

TEST_F(MonitoringServicePgTest, BadRecordsAreRejectedOneByOne) {
  ASSERT_TRUE(SetRowsReference().ok());
  v1::LogPredictionsRequest req = Predictions(4);
  req.mutable_records(0)->set_request_id("");
  req.mutable_records(1)->set_timestamp_micros(kNow + 10 * kMinute);
  req.mutable_records(2)->mutable_features()->mutable_values()->RemoveLast();
  v1::LogPredictionsResponse logged;
  ASSERT_TRUE(Log({req}, &logged).ok());
  EXPECT_EQ(logged.accepted(), 1);
  EXPECT_EQ(logged.rejected(), 3);
  EXPECT_EQ(logged.rejections_size(), 3);
}

TEST_F(MonitoringServicePgTest, MalformedMessagesFailTheStream) {
  v1::LogPredictionsRequest req = Predictions(1);
  req.set_version(0);
  v1::LogPredictionsResponse logged;
  grpc::Status s = Log({req}, &logged);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req = Predictions(0);
  s = Log({req}, &logged);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("records"));
}

TEST_F(MonitoringServicePgTest, DriftReportErrors) {
  v1::GetDriftReportRequest req;
  req.set_model("fraud");
  req.set_version(1);
  v1::DriftReport report;
  EXPECT_EQ(stub_->GetDriftReport(As("t-viewer").get(), req, &report).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(SetRowsReference().ok());
  EXPECT_EQ(stub_->GetDriftReport(As("t-viewer").get(), req, &report).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.set_window_start_micros(kNow + 5);
  EXPECT_EQ(stub_->GetDriftReport(As("t-viewer").get(), req, &report).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.clear_window_start_micros();
  req.add_features("nope");
  grpc::Status s = stub_->GetDriftReport(As("t-viewer").get(), req, &report);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("features[0]"));
}

TEST_F(MonitoringServicePgTest, SetReferenceBadInput) {
  v1::SetReferenceRequest req;
  req.set_model("fraud");
  req.set_version(1);
  v1::Reference ref;
  EXPECT_EQ(stub_->SetReference(As("t-editor").get(), req, &ref).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // no source
  common::v1::ColumnProfile* c = req.mutable_profile()->add_columns();
  c->set_name("amount");
  c->set_type(common::v1::DATA_TYPE_DOUBLE);
  grpc::Status s = stub_->SetReference(As("t-editor").get(), req, &ref);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("histogram edges"));
  EXPECT_EQ(stub_->SetReference(As("t-viewer").get(), req, &ref).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->SetReference(As("").get(), req, &ref).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::GetReferenceRequest get;
  get.set_model("fraud");
  get.set_version(1);
  EXPECT_EQ(stub_->GetReference(As("t-viewer").get(), get, &ref).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(MonitoringServicePgTest, ConfigRoundTripWithDefaults) {
  v1::GetMonitoringConfigRequest get;
  get.set_model("fraud");
  v1::MonitoringConfig config;
  ASSERT_TRUE(stub_->GetMonitoringConfig(As("t-viewer").get(), get, &config).ok());
  EXPECT_EQ(config.window_micros(), kMinute);
  EXPECT_EQ(config.updated_at_micros(), 0);
  v1::SetMonitoringConfigRequest set;
  set.mutable_config()->set_model("fraud");
  set.mutable_config()->set_window_micros(7 * 1'000'000);
  grpc::Status s = stub_->SetMonitoringConfig(As("t-editor").get(), set, &config);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("config.window_micros"));
  set.mutable_config()->set_window_micros(10 * 1'000'000);
  ASSERT_TRUE(stub_->SetMonitoringConfig(As("t-editor").get(), set, &config).ok());
  ASSERT_TRUE(stub_->GetMonitoringConfig(As("t-viewer").get(), get, &config).ok());
  EXPECT_EQ(config.window_micros(), 10 * 1'000'000);
  EXPECT_EQ(config.updated_by(), "alice");
}

TEST_F(MonitoringServicePgTest, AlertPoliciesSetListDelete) {
  v1::SetAlertPolicyRequest set;
  v1::AlertPolicy* p = set.mutable_policy();
  p->set_model("fraud");
  p->set_name("share");
  p->set_metric(v1::ALERT_METRIC_DATASET_DRIFT_SHARE);
  p->set_comparison(v1::COMPARISON_GREATER_OR_EQUAL);
  p->set_threshold(0.5);
  p->set_severity(v1::SEVERITY_CRITICAL);
  v1::AlertPolicy out;
  EXPECT_EQ(stub_->SetAlertPolicy(As("t-editor").get(), set, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->SetAlertPolicy(As("t-deployer").get(), set, &out).ok());
  EXPECT_EQ(out.updated_by(), "dana");
  p->set_name("second");
  ASSERT_TRUE(stub_->SetAlertPolicy(As("t-deployer").get(), set, &out).ok());
  p->set_window_micros(-1);
  grpc::Status s = stub_->SetAlertPolicy(As("t-deployer").get(), set, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("policy.window_micros"));
  p->set_window_micros(0);
  p->set_metric(v1::ALERT_METRIC_UNSPECIFIED);
  s = stub_->SetAlertPolicy(As("t-deployer").get(), set, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("policy.metric"));

  v1::ListAlertPoliciesRequest list;
  list.set_model("fraud");
  list.mutable_page()->set_page_size(1);
  v1::ListAlertPoliciesResponse page;
  ASSERT_TRUE(stub_->ListAlertPolicies(As("t-viewer").get(), list, &page).ok());
  ASSERT_EQ(page.policies_size(), 1);
  EXPECT_EQ(page.policies(0).name(), "second");
  ASSERT_FALSE(page.next_page_token().empty());
  list.mutable_page()->set_page_token(page.next_page_token());
  page.Clear();
  ASSERT_TRUE(stub_->ListAlertPolicies(As("t-viewer").get(), list, &page).ok());
  ASSERT_EQ(page.policies_size(), 1);
  EXPECT_EQ(page.policies(0).name(), "share");
  EXPECT_TRUE(page.next_page_token().empty());
  list.mutable_page()->set_page_token("garbage");
  EXPECT_EQ(stub_->ListAlertPolicies(As("t-viewer").get(), list, &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::DeleteAlertPolicyRequest del;
  del.set_model("fraud");
  del.set_name("share");
  v1::DeleteAlertPolicyResponse deleted;
  ASSERT_TRUE(stub_->DeleteAlertPolicy(As("t-deployer").get(), del, &deleted).ok());
  EXPECT_EQ(stub_->DeleteAlertPolicy(As("t-deployer").get(), del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace mlops::monitoring
