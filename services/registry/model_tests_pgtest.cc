// Gate model tests end to end through gRPC and Postgres: a policy with a
// regression set and a latency budget is stored and read back, a real XGBoost
// artifact is loaded by the registry, a failing regression set denies the
// transition (FAILED_PRECONDITION naming the check) with its mismatching rows
// stored, a passing one lets it through; a malformed test changes nothing.
#include <random>

#include "common/xgboost/xgb_booster.h"
#include "services/registry/registry_service_fixture.h"
#include "services/registry/xgb_model_tester.h"

namespace mlops::registry {
namespace {

using ::testing::HasSubstr;
namespace cv1 = ::mlops::common::v1;

class ModelTestsPgTest : public RegistryServicePgTest {
 protected:
  void SetUp() override {
    model_tester_ = &tester_;
    RegistryServicePgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(0, 1);
    std::vector<float> values;
    std::vector<float> labels;
    for (int i = 0; i < 500; ++i) {
      values.push_back(u(rng));
      labels.push_back(values.back() > 0.5f ? 1.0f : 0.0f);
    }
    MLOPS_ASSERT_OK_AND_ASSIGN(xgb::XgbMatrix train, xgb::XgbMatrix::FromDense(values, 500, 1));
    ASSERT_THAT(train.SetLabels(labels), IsOk());
    MLOPS_ASSERT_OK_AND_ASSIGN(
        xgb::XgbBooster booster,
        xgb::XgbBooster::ForTraining({&train}, {{"objective", "binary:logistic"}, {"nthread", "1"}}));
    for (int i = 0; i < 5; ++i) ASSERT_THAT(booster.TrainOneRound(i, train), IsOk());
    MLOPS_ASSERT_OK_AND_ASSIGN(artifact_, booster.SaveJson());
    for (float x : {0.1f, 0.45f, 0.55f, 0.9f}) {
      MLOPS_ASSERT_OK_AND_ASSIGN(xgb::Prediction p, booster.PredictDense(&x, 1, 1));
      outputs_.push_back(p.values[0]);
    }
  }

  // A header whose signature is the model's one input, "tenure" (DOUBLE).
  pb::RegisterModelVersionHeader XgbHeader() {
    pb::RegisterModelVersionHeader h = Header(artifact_, 0.9);
    h.set_flavor(pb::FLAVOR_XGBOOST);
    h.mutable_signature()->mutable_output()->set_kind(pb::OUTPUT_KIND_BINARY_PROBABILITY);
    return h;
  }

  static pb::InlineData Inputs() {
    pb::InlineData data;
    auto* c = data.mutable_schema()->add_columns();
    c->set_name("tenure");
    c->set_type(cv1::DATA_TYPE_DOUBLE);
    for (double x : {0.1, 0.45, 0.55, 0.9}) data.add_rows()->add_values()->set_double_value(x);
    return data;
  }

  grpc::Status SetPolicy(const pb::StageGate& staging, pb::GatePolicy* out) {
    pb::SetGatePolicyRequest req;
    req.mutable_policy()->set_model("churn");
    *req.mutable_policy()->mutable_staging() = staging;
    return stub_->SetGatePolicy(As("t-deployer").get(), req, out);
  }

  XgbModelTester tester_;
  std::string artifact_;
  std::vector<float> outputs_;
};

TEST_F(ModelTestsPgTest, RegressionSetAndLatencyGateTheTransition) {
  pb::ModelVersion v;
  ASSERT_TRUE(Register(XgbHeader(), artifact_, &v).ok());

  pb::StageGate gate;
  auto* regression = gate.add_regression_tests();
  regression->set_name("golden rows");
  *regression->mutable_inputs() = Inputs();
  for (float out : outputs_) regression->add_expected()->add_values(out);
  regression->mutable_expected(2)->set_values(0, outputs_[2] + 0.25);  // one wrong row
  regression->set_abs_tolerance(1e-6);
  auto* latency = gate.add_latency_tests();
  *latency->mutable_sample_rows() = Inputs();
  latency->set_budget_micros(5'000'000);
  latency->set_iterations(100);
  pb::GatePolicy policy;
  ASSERT_TRUE(SetPolicy(gate, &policy).ok());
  EXPECT_EQ(policy.staging().regression_tests_size(), 1);

  pb::GatePolicy read;
  pb::GetGatePolicyRequest get;
  get.set_model("churn");
  ASSERT_TRUE(stub_->GetGatePolicy(As("t-viewer").get(), get, &read).ok());
  EXPECT_EQ(read.staging().regression_tests(0).name(), "golden rows");
  EXPECT_EQ(read.staging().latency_tests(0).budget_micros(), 5'000'000);

  pb::TransitionRequest t;
  grpc::Status denied = Transition(1, pb::STAGE_STAGING, &t);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(denied.error_message(), HasSubstr("golden rows: measured 1"));

  // The denial is stored with its checks: the mismatching row and the latency.
  pb::ListTransitionRequestsRequest list;
  list.set_model("churn");
  pb::ListTransitionRequestsResponse listed;
  ASSERT_TRUE(stub_->ListTransitionRequests(As("t-viewer").get(), list, &listed).ok());
  ASSERT_EQ(listed.requests_size(), 1);
  const pb::GateReport& report = listed.requests(0).gate_report();
  ASSERT_EQ(report.checks_size(), 2);
  // Latency tests run first, then bias, then regression sets.
  const pb::CheckResult& timing = report.checks(0);
  const pb::CheckResult& rows = report.checks(1);
  EXPECT_EQ(timing.kind(), pb::CHECK_KIND_LATENCY);
  EXPECT_EQ(rows.kind(), pb::CHECK_KIND_REGRESSION_SET);
  EXPECT_EQ(rows.outcome(), pb::CHECK_OUTCOME_FAILED);
  ASSERT_EQ(rows.mismatches_size(), 1);
  EXPECT_EQ(rows.mismatches(0).row(), 2);
  EXPECT_NEAR(rows.mismatches(0).expected(0) - rows.mismatches(0).actual(0), 0.25, 1e-6);
  EXPECT_EQ(timing.outcome(), pb::CHECK_OUTCOME_PASSED);
  EXPECT_GT(timing.measured(), 0);
  EXPECT_GT(timing.duration_micros(), 0);

  // Fixed expectations: the same version now passes.
  gate.mutable_regression_tests(0)->mutable_expected(2)->set_values(0, outputs_[2]);
  ASSERT_TRUE(SetPolicy(gate, &policy).ok());
  grpc::Status passed = Transition(1, pb::STAGE_STAGING, &t);
  EXPECT_TRUE(passed.ok()) << passed.error_message();
  EXPECT_EQ(t.status(), pb::TRANSITION_STATUS_GRANTED);
}

TEST_F(ModelTestsPgTest, MalformedModelTestIsRejectedAndChangesNothing) {
  pb::ModelVersion v;
  ASSERT_TRUE(Register(XgbHeader(), artifact_, &v).ok());
  pb::StageGate gate;
  auto* regression = gate.add_regression_tests();
  *regression->mutable_inputs() = Inputs();
  regression->add_expected()->add_values(0.5);  // 1 output for 4 rows
  pb::GatePolicy policy;
  grpc::Status bad = SetPolicy(gate, &policy);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("policy.staging.regression_tests[0].expected"));
  pb::GatePolicy read;
  pb::GetGatePolicyRequest get;
  get.set_model("churn");
  ASSERT_TRUE(stub_->GetGatePolicy(As("t-viewer").get(), get, &read).ok());
  EXPECT_EQ(read.policy_version(), 0);
}

TEST_F(ModelTestsPgTest, AnArtifactThatDoesNotLoadIsAnErrorCheck) {
  const std::string junk = "not an xgboost model";
  pb::RegisterModelVersionHeader h = Header(junk, 0.9);
  h.set_flavor(pb::FLAVOR_XGBOOST);
  pb::ModelVersion v;
  ASSERT_TRUE(Register(h, junk, &v).ok());
  pb::StageGate gate;
  auto* latency = gate.add_latency_tests();
  *latency->mutable_sample_rows() = Inputs();
  latency->set_budget_micros(1000);
  pb::GatePolicy policy;
  ASSERT_TRUE(SetPolicy(gate, &policy).ok());
  pb::TransitionRequest t;
  grpc::Status denied = Transition(1, pb::STAGE_STAGING, &t);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(denied.error_message(), HasSubstr("not a loadable XGBoost model"));
}

}  // namespace
}  // namespace mlops::registry
