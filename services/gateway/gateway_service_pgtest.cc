// The gateway over real gRPC and Postgres with fake peers: Predict by
// features and by entity key (values checked against XGBoost directly), the
// status codes of bad input, canary split, shadow compared but never
// returned, automatic rollback on injected candidate errors, canary steps to
// completion, blue-green switch back, a restarted gateway resuming its
// rollout, and predictions that never wait for a monitoring outage.
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/testing/metric_values.h"
#include "common/xgboost/xgb_booster.h"
#include "gmock/gmock.h"
#include "services/gateway/testing/gateway_fixture.h"

namespace mlops::gateway::testing {
namespace {

namespace iv1 = ::mlops::inference::v1;
namespace rv1 = ::mlops::registry::v1;
using ::testing::HasSubstr;

// XGBoost's own answer for `values` with model version `v`.
double Direct(const std::string& json, const std::vector<float>& values) {
  absl::StatusOr<xgb::XgbBooster> b = xgb::XgbBooster::Load(json);
  EXPECT_TRUE(b.ok());
  absl::StatusOr<xgb::Prediction> p = b->PredictDense(values.data(), 1, values.size());
  EXPECT_TRUE(p.ok());
  return p->values[0];
}

// The fake registry's events once there are at least `n` (bounded wait: the
// follower reports ROLLOUT_STARTED just after SetRollout returns).
std::vector<rv1::RecordDeploymentEventRequest> EventsAtLeast(const FakeRegistry& registry,
                                                             std::size_t n) {
  for (int i = 0; i < 200 && registry.events().size() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return registry.events();
}

int CountVariant(const iv1::PredictResponse& r, iv1::Variant v) {
  int n = 0;
  for (const iv1::RowPrediction& p : r.predictions()) n += p.variant() == v;
  return n;
}

TEST_F(GatewayPgTest, PredictsInlineFeaturesGivenByNameInAnyOrder) {
  iv1::PredictRequest req;
  req.set_endpoint("fraud_ep");
  req.set_request_id("client-1");
  for (const char* name : {"f3", "f1", "f0", "f2"}) req.add_feature_names(name);
  auto* row = req.add_rows()->mutable_features();
  for (double x : {0.4, 0.9, 0.8, 0.1}) row->add_values()->set_double_value(x);
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(req, &resp).ok());
  ASSERT_EQ(resp.predictions_size(), 1);
  const iv1::RowPrediction& p = resp.predictions(0);
  EXPECT_EQ(resp.request_id(), "client-1");
  EXPECT_EQ(p.request_id(), "client-1");
  EXPECT_EQ(p.model(), "fraud");
  EXPECT_EQ(p.version(), 1);
  EXPECT_EQ(p.variant(), iv1::VARIANT_PRIMARY);
  EXPECT_NEAR(p.score(), Direct(models_[1], {0.8f, 0.9f, 0.1f, 0.4f}), 1e-6);
  EXPECT_EQ(p.predicted_label(), p.score() >= 0.5 ? "yes" : "no");
}

TEST_F(GatewayPgTest, PredictsByEntityKeyWithOneBatchedFeatureLookup) {
  iv1::PredictRequest req = ByKey(100, 5);
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(req, &resp).ok());
  EXPECT_EQ(features_.calls(), 1);
  ASSERT_EQ(resp.predictions_size(), 5);
  EXPECT_THAT(resp.request_id(), HasSubstr("req-"));
  for (int i = 0; i < 5; ++i) {
    std::vector<float> values;
    for (int c = 0; c < kCols; ++c) values.push_back(static_cast<float>(FakeFeatures::Value(100 + i, c)));
    EXPECT_NEAR(resp.predictions(i).score(), Direct(models_[1], values), 1e-6) << i;
    EXPECT_EQ(resp.predictions(i).request_id(), absl::StrCat(resp.request_id(), ":", i));
    EXPECT_TRUE(resp.predictions(i).entity_found());
  }
  features_.set_unknown_from(102);  // unknown entities: missing values, entity_found false
  ASSERT_TRUE(Predict(ByKey(103, 1), &resp).ok());
  EXPECT_FALSE(resp.predictions(0).entity_found());
  EXPECT_EQ(resp.predictions(0).missing_features_size(), kCols);
}

TEST_F(GatewayPgTest, BadInputGetsExactCodesNamingRowAndFeature) {
  iv1::PredictResponse resp;
  iv1::PredictRequest empty;
  empty.set_endpoint("fraud_ep");
  EXPECT_EQ(Predict(empty, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  iv1::PredictRequest unknown = ByKey(1, 1);
  unknown.set_endpoint("nope");
  EXPECT_EQ(Predict(unknown, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(MetricValue(*stack_->prom, "mlops_gateway_predictions_total",
                        {{"endpoint", "unknown"}, {"code", "INVALID_ARGUMENT"}}),
            1.0);

  iv1::PredictRequest typed;
  typed.set_endpoint("fraud_ep");
  for (int c = 0; c < kCols; ++c) typed.add_feature_names(absl::StrCat("f", c));
  for (int r = 0; r < 2; ++r) {
    auto* row = typed.add_rows()->mutable_features();
    for (int c = 0; c < kCols; ++c) row->add_values()->set_double_value(0.5);
  }
  typed.mutable_rows(1)->mutable_features()->mutable_values(2)->set_string_value("x");
  grpc::Status s = Predict(typed, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("row 1, feature \"f2\": expected DOUBLE, got STRING"));

  iv1::PredictRequest missing = typed;
  missing.mutable_feature_names()->RemoveLast();
  for (auto& row : *missing.mutable_rows()) row.mutable_features()->mutable_values()->RemoveLast();
  missing.mutable_rows(1)->mutable_features()->mutable_values(2)->set_double_value(0.5);
  s = Predict(missing, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("row 0, feature \"f3\": missing"));

  iv1::PredictRequest extra = typed;
  extra.set_feature_names(0, "zzz");
  s = Predict(extra, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("\"zzz\""));

  iv1::PredictRequest nan = typed;
  nan.mutable_rows(1)->mutable_features()->mutable_values(2)->set_double_value(std::nan(""));
  s = Predict(nan, &resp);
  EXPECT_THAT(s.error_message(), HasSubstr("row 1, feature \"f2\": NaN/inf not allowed"));

  iv1::PredictRequest wrong_key = ByKey(1, 1);
  wrong_key.mutable_rows(0)->mutable_entity_key()->set_string_value("abc");
  EXPECT_EQ(Predict(wrong_key, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  iv1::PredictRequest no_prod = ByKey(1, 1);
  no_prod.set_endpoint("empty_ep");
  EXPECT_EQ(Predict(no_prod, &resp).error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  features_.Fail(true);
  s = Predict(ByKey(1, 1), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(), HasSubstr("feature service"));
}

TEST_F(GatewayPgTest, CanarySplitsTrafficWithinStatisticalBounds) {
  iv1::Rollout rollout;
  ASSERT_TRUE(SetRollout(Canary(2, {20, 100}), &rollout).ok());
  EXPECT_EQ(rollout.state(), rv1::ROLLOUT_STATE_IN_PROGRESS);
  EXPECT_EQ(rollout.rollout_id(), "ro-fake1");  // the registry's id
  EXPECT_DOUBLE_EQ(rollout.candidate_percent(), 20);
  int candidate = 0;
  const int calls = 50, rows = 40;
  for (int i = 0; i < calls; ++i) {
    iv1::PredictResponse resp;
    ASSERT_TRUE(Predict(ByKey(i * rows, rows), &resp).ok());
    candidate += CountVariant(resp, iv1::VARIANT_CANDIDATE);
    for (const auto& p : resp.predictions()) {
      EXPECT_EQ(p.version(), p.variant() == iv1::VARIANT_CANDIDATE ? 2 : 1);
    }
  }
  EXPECT_NEAR(candidate, 400, 5 * 17.9);  // 20% of 2,000 rows, 5 sd
  ASSERT_TRUE(GetRollout(&rollout).ok());
  ASSERT_EQ(rollout.variants_size(), 2);
  EXPECT_EQ(rollout.variants(1).requests(), candidate);
  EXPECT_EQ(rollout.variants(0).requests(), calls * rows - candidate);
  const auto events = EventsAtLeast(registry_, 2);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].type(), rv1::DEPLOYMENT_EVENT_TYPE_MANUAL_ROLLOUT);
  EXPECT_TRUE(events[0].rollout_id().empty());  // the registry assigns it
  EXPECT_EQ(events[0].candidate_version(), 2);
  EXPECT_EQ(events[0].spec().canary().steps_size(), 2);
  EXPECT_EQ(events[1].type(), rv1::DEPLOYMENT_EVENT_TYPE_ROLLOUT_STARTED);
  EXPECT_EQ(events[1].rollout_id(), "ro-fake1");
}

TEST_F(GatewayPgTest, SetRolloutChangesNothingWhenTheRegistryIsDownOrRefuses) {
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(ByKey(0, 1), &resp).ok());  // primary loaded
  iv1::Rollout rollout;
  registry_.FailEvents(true);
  grpc::Status s = SetRollout(Canary(2, {20, 100}), &rollout);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(), HasSubstr("nothing changed"));
  registry_.FailEvents(false);
  registry_.RefuseManualRollouts(true);  // e.g. a canary of a non-production version
  EXPECT_EQ(SetRollout(Canary(2, {20, 100}), &rollout).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  registry_.RefuseManualRollouts(false);
  registry_.RejectManualRollouts(true);  // a registry without MANUAL_ROLLOUT
  EXPECT_EQ(SetRollout(Canary(2, {20, 100}), &rollout).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(registry_.events().empty());
  EXPECT_EQ(GetRollout(&rollout).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Predict(ByKey(0, 50), &resp).ok());
  EXPECT_EQ(CountVariant(resp, iv1::VARIANT_PRIMARY), 50);
}

TEST_F(GatewayPgTest, ReplaceActiveSupersedesTheRolloutInProgress) {
  iv1::Rollout first, second;
  ASSERT_TRUE(SetRollout(Canary(2, {30, 100}), &first).ok());
  EXPECT_EQ(SetRollout(Canary(3, {30, 100}), &second).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(EventsAtLeast(registry_, 2).size(), 2u);  // refused before forwarding
  iv1::SetRolloutRequest replace = Canary(3, {40, 100});
  replace.set_replace_active(true);
  ASSERT_TRUE(SetRollout(replace, &second).ok());
  EXPECT_EQ(second.rollout_id(), "ro-fake2");
  EXPECT_EQ(second.candidate_version(), 3);
  EXPECT_DOUBLE_EQ(second.candidate_percent(), 40);
  Restart();  // the replaced rollout was persisted SUPERSEDED, the new one resumes
  ASSERT_TRUE(GetRollout(&second).ok());
  EXPECT_EQ(second.rollout_id(), "ro-fake2");
  EXPECT_EQ(second.state(), rv1::ROLLOUT_STATE_IN_PROGRESS);
}

TEST_F(GatewayPgTest, LegacyLocalRolloutRowIsEndedAtRestart) {
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(ByKey(0, 1), &resp).ok());
  // A row as an older gateway wrote it for a rollout the registry never knew.
  EndpointRecord e;
  e.endpoint = "fraud_ep";
  e.model = "fraud";
  e.primary_version = 1;
  RolloutRecord r;
  r.rollout_id = "ro-gw-00000000000000aa";
  r.endpoint = "fraud_ep";
  r.model = "fraud";
  r.spec_bytes = Canary(2, {50, 100}).spec().SerializeAsString();
  r.primary_version = 1;
  r.candidate_version = 2;
  r.state = RolloutState::kInProgress;
  e.rollout = r;
  ASSERT_THAT(stack_->store->Save(e), IsOk());
  Restart();
  iv1::Rollout rollout;
  ASSERT_TRUE(GetRollout(&rollout).ok());
  EXPECT_EQ(rollout.rollout_id(), "ro-gw-00000000000000aa");
  EXPECT_EQ(rollout.state(), rv1::ROLLOUT_STATE_SUPERSEDED);
  ASSERT_TRUE(Predict(ByKey(0, 50), &resp).ok());
  EXPECT_EQ(CountVariant(resp, iv1::VARIANT_PRIMARY), 50);
  ASSERT_TRUE(SetRollout(Canary(2, {50, 100}), &rollout).ok());  // not "in progress"
  EXPECT_EQ(rollout.rollout_id(), "ro-fake1");
  Restart();
  ASSERT_TRUE(GetRollout(&rollout).ok());
  EXPECT_EQ(rollout.rollout_id(), "ro-fake1");
  for (const auto& ev : registry_.events()) EXPECT_NE(ev.rollout_id(), "ro-gw-00000000000000aa");
}

TEST_F(GatewayPgTest, CandidateLoadFailureIsReportedAndChangesNothing) {
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(ByKey(0, 1), &resp).ok());  // primary loaded
  registry_.CorruptArtifacts(true);
  iv1::Rollout rollout;
  grpc::Status s = SetRollout(Canary(2, {20, 100}), &rollout);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  const auto events = registry_.events();
  ASSERT_EQ(events.size(), 3u);  // asked for, failed to load here, given up
  EXPECT_EQ(events[1].type(), rv1::DEPLOYMENT_EVENT_TYPE_LOAD_FAILED);
  EXPECT_EQ(events[2].type(), rv1::DEPLOYMENT_EVENT_TYPE_ROLLED_BACK);
  EXPECT_EQ(events[2].rollout_id(), "ro-fake1");
  EXPECT_EQ(GetRollout(&rollout).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Predict(ByKey(0, 20), &resp).ok());
  for (const auto& p : resp.predictions()) EXPECT_EQ(p.version(), 1);
}

TEST_F(GatewayPgTest, ShadowIsComparedAndLoggedButNeverReturned) {
  iv1::SetRolloutRequest req = Canary(2, {100});
  req.mutable_spec()->set_strategy(rv1::ROLLOUT_STRATEGY_SHADOW);
  req.mutable_spec()->mutable_shadow()->set_mirror_percent(100);
  req.mutable_spec()->mutable_shadow()->set_analysis_window_micros(10 * kSecond);
  iv1::Rollout rollout;
  ASSERT_TRUE(SetRollout(req, &rollout).ok()) << rollout.DebugString();
  for (int i = 0; i < 10; ++i) {
    iv1::PredictResponse resp;
    ASSERT_TRUE(Predict(ByKey(i * 10, 10), &resp).ok());
    EXPECT_EQ(CountVariant(resp, iv1::VARIANT_PRIMARY), 10);
  }
  stack_->predictor->DrainShadows();
  ASSERT_TRUE(GetRollout(&rollout).ok());
  EXPECT_EQ(rollout.shadow().compared(), 100);
  EXPECT_GT(rollout.shadow().agreement_rate(), 0.5);  // two models of the same rule
  EXPECT_GT(rollout.shadow().mean_abs_diff(), 0);     // but not the same trees
  EXPECT_EQ(rollout.variants(1).variant(), iv1::VARIANT_SHADOW);
  for (int i = 0; i < 200 && monitoring_.records(monitoring::v1::VARIANT_SHADOW) < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(monitoring_.records(monitoring::v1::VARIANT_SHADOW), 100);
  stack_->endpoints->Tick();  // the analyzer publishes the agreement
  EXPECT_EQ(MetricValue(*stack_->prom, "mlops_gateway_shadow_agreement_ratio"),
            rollout.shadow().agreement_rate());
  EXPECT_EQ(monitoring_.records(monitoring::v1::VARIANT_PRIMARY), 100);
}

TEST_F(GatewayPgTest, CandidateErrorsRollBackAutomaticallyWithoutFailingRequests) {
  loader_.flaky_versions = {3};
  iv1::Rollout rollout;
  ASSERT_TRUE(SetRollout(Canary(3, {50, 100}), &rollout).ok());
  for (int i = 0; i < 10; ++i) {
    iv1::PredictResponse resp;
    ASSERT_TRUE(Predict(ByKey(i * 20, 20), &resp).ok());  // candidate rows fall back
    EXPECT_EQ(CountVariant(resp, iv1::VARIANT_PRIMARY), 20);
  }
  now_ += kSecond;  // inside the window: a breach does not wait for it
  stack_->endpoints->Tick();
  ASSERT_TRUE(GetRollout(&rollout).ok());
  EXPECT_EQ(rollout.state(), rv1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_THAT(rollout.rollback_reason(), HasSubstr("error_rate"));
  const auto events = registry_.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type(), rv1::DEPLOYMENT_EVENT_TYPE_ROLLED_BACK);
  EXPECT_GT(events.back().metrics().at("error_rate"), 0.9);
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(ByKey(0, 50), &resp).ok());
  EXPECT_EQ(CountVariant(resp, iv1::VARIANT_PRIMARY), 50);
  const prometheus::Registry& prom = *stack_->prom;
  EXPECT_EQ(MetricValue(prom, "mlops_gateway_rollbacks_total",
                        {{"endpoint", "fraud_ep"}, {"cause", "automatic"}}),
            1.0);
  EXPECT_GT(*MetricValue(prom, "mlops_gateway_predictions_total",
                         {{"variant", "candidate"}, {"code", "INTERNAL"}}),
            0);
  EXPECT_EQ(MetricValue(prom, "mlops_gateway_rollout_state", {{"endpoint", "fraud_ep"}}),
            static_cast<double>(rv1::ROLLOUT_STATE_ROLLED_BACK));
  EXPECT_GT(*MetricValue(prom, "mlops_gateway_model_cpu_seconds_total", {{"endpoint", "fraud_ep"}}), 0);
}

TEST_F(GatewayPgTest, CanaryAdvancesStepByStepAndCompletes) {
  iv1::Rollout rollout;
  ASSERT_TRUE(SetRollout(Canary(2, {50, 100}), &rollout).ok());
  auto traffic = [&] {
    for (int i = 0; i < 5; ++i) {
      iv1::PredictResponse resp;
      ASSERT_TRUE(Predict(ByKey(i * 40, 40), &resp).ok());
    }
  };
  traffic();
  stack_->endpoints->Tick();  // window not over
  ASSERT_TRUE(GetRollout(&rollout).ok());
  EXPECT_EQ(rollout.current_step(), 0);
  now_ += 11 * kSecond;
  stack_->endpoints->Tick();
  ASSERT_TRUE(GetRollout(&rollout).ok());
  EXPECT_EQ(rollout.current_step(), 1);
  EXPECT_DOUBLE_EQ(rollout.candidate_percent(), 100);
  traffic();
  now_ += 11 * kSecond;
  stack_->endpoints->Tick();
  ASSERT_TRUE(GetRollout(&rollout).ok());
  EXPECT_EQ(rollout.state(), rv1::ROLLOUT_STATE_COMPLETED);
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(ByKey(0, 3), &resp).ok());
  EXPECT_EQ(resp.predictions(0).version(), 2);
  EXPECT_EQ(resp.predictions(0).variant(), iv1::VARIANT_PRIMARY);
  EXPECT_EQ(registry_.events().back().type(), rv1::DEPLOYMENT_EVENT_TYPE_ROLLOUT_COMPLETED);
}

TEST_F(GatewayPgTest, BlueGreenSwitchesAtOnceAndRollsBackToThePreviousVersion) {
  iv1::SetRolloutRequest req = Canary(2, {100});
  req.mutable_spec()->mutable_blue_green();  // window 0: complete at once
  req.mutable_spec()->set_strategy(rv1::ROLLOUT_STRATEGY_BLUE_GREEN);
  iv1::Rollout rollout;
  ASSERT_TRUE(SetRollout(req, &rollout).ok());
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(ByKey(0, 20), &resp).ok());
  EXPECT_EQ(CountVariant(resp, iv1::VARIANT_CANDIDATE), 20);
  stack_->endpoints->Tick();
  ASSERT_TRUE(GetRollout(&rollout).ok());
  EXPECT_EQ(rollout.state(), rv1::ROLLOUT_STATE_COMPLETED);
  ASSERT_TRUE(Rollback("bad numbers", &rollout).ok());
  ASSERT_TRUE(Predict(ByKey(0, 5), &resp).ok());
  EXPECT_EQ(resp.predictions(0).version(), 1);
  EXPECT_EQ(registry_.events().back().type(), rv1::DEPLOYMENT_EVENT_TYPE_ROLLED_BACK);
}

TEST_F(GatewayPgTest, ManualRollbackNeedsAReasonAndSomethingToRollBackTo) {
  iv1::Rollout rollout;
  EXPECT_EQ(Rollback("", &rollout).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Rollback("why", &rollout).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(SetRollout(Canary(2, {30, 100}), &rollout).ok());
  EXPECT_EQ(SetRollout(Canary(2, {30, 100}), &rollout).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // one in progress
  ASSERT_TRUE(Rollback("operator says no", &rollout).ok());
  EXPECT_EQ(rollout.state(), rv1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_EQ(Rollback("again", &rollout).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  iv1::SetRolloutRequest bad = Canary(2, {30, 20});
  EXPECT_EQ(SetRollout(bad, &rollout).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(GatewayPgTest, RestartedGatewayResumesTheRollout) {
  iv1::Rollout before;
  ASSERT_TRUE(SetRollout(Canary(2, {30, 100}), &before).ok());
  now_ += 11 * kSecond;
  for (int i = 0; i < 3; ++i) {
    iv1::PredictResponse resp;
    ASSERT_TRUE(Predict(ByKey(i * 40, 40), &resp).ok());
  }
  const int reads = registry_.artifact_reads();
  Restart();
  EXPECT_EQ(registry_.artifact_reads(), reads + 2);  // primary and candidate reloaded
  iv1::Rollout after;
  ASSERT_TRUE(GetRollout(&after).ok());
  EXPECT_EQ(after.rollout_id(), before.rollout_id());
  EXPECT_EQ(after.state(), rv1::ROLLOUT_STATE_IN_PROGRESS);
  EXPECT_EQ(after.current_step(), 0);
  EXPECT_EQ(after.candidate_version(), 2);
  int candidate = 0;
  for (int i = 0; i < 10; ++i) {
    iv1::PredictResponse resp;
    ASSERT_TRUE(Predict(ByKey(i * 100, 100), &resp).ok());
    candidate += CountVariant(resp, iv1::VARIANT_CANDIDATE);
  }
  EXPECT_NEAR(candidate, 300, 5 * 14.5);
}

TEST_F(GatewayPgTest, RestartWhileTheRegistryFailsRestoresTheRolloutLater) {
  iv1::Rollout before;
  ASSERT_TRUE(SetRollout(Canary(2, {30, 100}), &before).ok());
  registry_.CorruptArtifacts(true);  // every load fails its sha256 check
  Restart();
  iv1::PredictResponse resp;
  EXPECT_EQ(Predict(ByKey(0, 10), &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  iv1::Rollout after;
  EXPECT_EQ(GetRollout(&after).error_code(), grpc::StatusCode::NOT_FOUND);
  registry_.CorruptArtifacts(false);
  ASSERT_TRUE(Predict(ByKey(0, 100), &resp).ok());
  EXPECT_GT(CountVariant(resp, iv1::VARIANT_CANDIDATE), 0);
  ASSERT_TRUE(GetRollout(&after).ok());
  EXPECT_EQ(after.rollout_id(), before.rollout_id());
  EXPECT_EQ(after.state(), rv1::ROLLOUT_STATE_IN_PROGRESS);
}

TEST_F(GatewayPgTest, MonitoringOutageDropsLogRecordsButNeverFailsPredict) {
  monitoring_.Fail(true);
  for (int i = 0; i < 20; ++i) {
    iv1::PredictResponse resp;
    ASSERT_TRUE(Predict(ByKey(i * 10, 10), &resp).ok());
  }
  for (int i = 0; i < 200 && stack_->logger->dropped() < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(stack_->logger->dropped(), 200);
  EXPECT_EQ(monitoring_.records(monitoring::v1::VARIANT_PRIMARY), 0);
}

}  // namespace
}  // namespace mlops::gateway::testing
