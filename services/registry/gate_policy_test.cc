#include "services/registry/gate_policy.h"

#include "gtest/gtest.h"

namespace mlops::registry {
namespace {

const char kData1[] = "1111111111111111111111111111111111111111111111111111111111111111";
const char kData2[] = "2222222222222222222222222222222222222222222222222222222222222222";

VersionRecord WithMetric(int64_t version, const std::string& dataset, const std::string& metric,
                         double value, int64_t at = 1) {
  VersionRecord v;
  v.version = version;
  EvaluationRecord e;
  e.name = "test";
  e.dataset_version = dataset;
  e.metrics[metric] = value;
  e.recorded_at_micros = at;
  v.evaluations.push_back(e);
  return v;
}

TEST(ThresholdTest, PassesAtTheLimitForGreaterOrEqual) {
  ThresholdCheck t{"", "auc", Comparison::kGreaterOrEqual, 0.85, ""};
  CheckResult r = EvaluateThreshold(t, WithMetric(1, kData1, "auc", 0.85));
  EXPECT_EQ(r.outcome, CheckOutcome::kPassed);
  EXPECT_EQ(r.name, "threshold auc >= 0.85");
}

TEST(ThresholdTest, FailsBelowAndReportsMeasuredValue) {
  ThresholdCheck t{"", "auc", Comparison::kGreaterOrEqual, 0.85, ""};
  CheckResult r = EvaluateThreshold(t, WithMetric(1, kData1, "auc", 0.81));
  EXPECT_EQ(r.outcome, CheckOutcome::kFailed);
  EXPECT_DOUBLE_EQ(r.measured, 0.81);
  EXPECT_DOUBLE_EQ(r.limit, 0.85);
}

TEST(ThresholdTest, StrictComparisonsExcludeTheLimit) {
  ThresholdCheck lt{"", "rmse", Comparison::kLess, 2.0, ""};
  EXPECT_EQ(EvaluateThreshold(lt, WithMetric(1, kData1, "rmse", 2.0)).outcome,
            CheckOutcome::kFailed);
  EXPECT_EQ(EvaluateThreshold(lt, WithMetric(1, kData1, "rmse", 1.9)).outcome,
            CheckOutcome::kPassed);
}

TEST(ThresholdTest, MissingMetricFailsWithMessage) {
  ThresholdCheck t{"", "f1", Comparison::kGreaterOrEqual, 0.5, ""};
  CheckResult r = EvaluateThreshold(t, WithMetric(1, kData1, "auc", 0.9));
  EXPECT_EQ(r.outcome, CheckOutcome::kFailed);
  EXPECT_NE(r.message.find("f1"), std::string::npos);
}

TEST(ThresholdTest, MissingEvaluationFails) {
  ThresholdCheck t{"", "auc", Comparison::kGreaterOrEqual, 0.5, "validation"};
  EXPECT_EQ(EvaluateThreshold(t, WithMetric(1, kData1, "auc", 0.9)).outcome,
            CheckOutcome::kFailed);
}

TEST(ThresholdTest, UsesMostRecentEvaluationOfTheName) {
  VersionRecord v = WithMetric(1, kData1, "auc", 0.7, 1);
  v.evaluations.push_back(WithMetric(1, kData2, "auc", 0.9, 5).evaluations[0]);
  ThresholdCheck t{"", "auc", Comparison::kGreaterOrEqual, 0.85, ""};
  EXPECT_EQ(EvaluateThreshold(t, v).outcome, CheckOutcome::kPassed);
}

TEST(ChampionChallengerTest, AbsoluteImprovementHigherIsBetter) {
  ChampionChallengerCheck c{"", "auc", Direction::kHigherIsBetter, false, 0.01, "", false, ""};
  VersionRecord champion = WithMetric(1, kData1, "auc", 0.80);
  EXPECT_EQ(EvaluateChampionChallenger(c, WithMetric(2, kData1, "auc", 0.815), &champion).outcome,
            CheckOutcome::kPassed);
  CheckResult r = EvaluateChampionChallenger(c, WithMetric(2, kData1, "auc", 0.805), &champion);
  EXPECT_EQ(r.outcome, CheckOutcome::kFailed);
  EXPECT_NEAR(r.measured, 0.005, 1e-12);
  EXPECT_EQ(r.champion_version, 1);
  EXPECT_DOUBLE_EQ(r.champion_value, 0.80);
}

TEST(ChampionChallengerTest, RelativeImprovementLowerIsBetter) {
  ChampionChallengerCheck c{"", "rmse", Direction::kLowerIsBetter, true, 0.05, "", false, ""};
  VersionRecord champion = WithMetric(1, kData1, "rmse", 10.0);
  CheckResult pass = EvaluateChampionChallenger(c, WithMetric(2, kData1, "rmse", 9.4), &champion);
  EXPECT_EQ(pass.outcome, CheckOutcome::kPassed);
  EXPECT_NEAR(pass.measured, 0.06, 1e-12);
  EXPECT_EQ(EvaluateChampionChallenger(c, WithMetric(2, kData1, "rmse", 9.6), &champion).outcome,
            CheckOutcome::kFailed);
}

TEST(ChampionChallengerTest, NegativeMinimumAllowsNonInferiority) {
  ChampionChallengerCheck c{"", "auc", Direction::kHigherIsBetter, false, -0.01, "", false, ""};
  VersionRecord champion = WithMetric(1, kData1, "auc", 0.80);
  EXPECT_EQ(EvaluateChampionChallenger(c, WithMetric(2, kData1, "auc", 0.795), &champion).outcome,
            CheckOutcome::kPassed);
}

TEST(ChampionChallengerTest, ChampionWithoutSameDatasetFails) {
  ChampionChallengerCheck c{"", "auc", Direction::kHigherIsBetter, false, 0.0, "", false, ""};
  VersionRecord champion = WithMetric(1, kData1, "auc", 0.80);
  CheckResult r = EvaluateChampionChallenger(c, WithMetric(2, kData2, "auc", 0.9), &champion);
  EXPECT_EQ(r.outcome, CheckOutcome::kFailed);
  EXPECT_NE(r.message.find("AddEvaluation"), std::string::npos);
}

TEST(ChampionChallengerTest, NoChampionPassesUnlessRequired) {
  ChampionChallengerCheck c{"", "auc", Direction::kHigherIsBetter, false, 0.01, "", false, ""};
  EXPECT_EQ(EvaluateChampionChallenger(c, WithMetric(2, kData1, "auc", 0.5), nullptr).outcome,
            CheckOutcome::kPassed);
  c.fail_if_no_champion = true;
  EXPECT_EQ(EvaluateChampionChallenger(c, WithMetric(2, kData1, "auc", 0.5), nullptr).outcome,
            CheckOutcome::kFailed);
}

TEST(ChampionChallengerTest, RelativeWithZeroChampionIsError) {
  ChampionChallengerCheck c{"", "r2", Direction::kHigherIsBetter, true, 0.01, "", false, ""};
  VersionRecord champion = WithMetric(1, kData1, "r2", 0.0);
  EXPECT_EQ(EvaluateChampionChallenger(c, WithMetric(2, kData1, "r2", 0.5), &champion).outcome,
            CheckOutcome::kError);
}

TEST(EvaluateGateTest, ListsEveryFailedCheckWithMeasuredValue) {
  StageGate gate;
  gate.thresholds.push_back({"", "auc", Comparison::kGreaterOrEqual, 0.85, ""});
  gate.thresholds.push_back({"", "logloss", Comparison::kLessOrEqual, 0.3, ""});
  gate.thresholds.push_back({"", "accuracy", Comparison::kGreaterOrEqual, 0.5, ""});
  VersionRecord v = WithMetric(2, kData1, "auc", 0.81);
  v.evaluations[0].metrics["logloss"] = 0.4;
  v.evaluations[0].metrics["accuracy"] = 0.9;
  GateReport report = EvaluateGate(gate, Stage::kProduction, v, nullptr, 3, 42);
  EXPECT_FALSE(report.passed);
  EXPECT_EQ(report.policy_version, 3);
  ASSERT_EQ(report.checks.size(), 3u);
  std::string text = DescribeFailures(report);
  EXPECT_NE(text.find("threshold auc >= 0.85: measured 0.81"), std::string::npos) << text;
  EXPECT_NE(text.find("threshold logloss <= 0.3: measured 0.4"), std::string::npos) << text;
  EXPECT_EQ(text.find("accuracy"), std::string::npos) << text;
}

TEST(EvaluateGateTest, EachCheckComparesAgainstItsOwnAliasChampion) {
  StageGate gate;
  gate.champion_challenger.push_back(
      {"vs production", "auc", Direction::kHigherIsBetter, false, 0.01, "", false, ""});
  gate.champion_challenger.push_back(
      {"vs challenger", "auc", Direction::kHigherIsBetter, false, 0.01, "", false, "challenger"});
  gate.champion_challenger.push_back(
      {"vs unset", "auc", Direction::kHigherIsBetter, false, 0.01, "", true, "shadow"});
  VersionRecord production = WithMetric(1, kData1, "auc", 0.70);
  VersionRecord challenger = WithMetric(2, kData1, "auc", 0.86);
  ChampionLookup lookup = [&](const std::string& alias) -> const VersionRecord* {
    if (alias.empty()) return &production;
    return alias == "challenger" ? &challenger : nullptr;
  };
  GateReport report =
      EvaluateGate(gate, Stage::kProduction, WithMetric(3, kData1, "auc", 0.80), lookup, 1, 0);
  ASSERT_EQ(report.checks.size(), 3u);
  EXPECT_EQ(report.checks[0].outcome, CheckOutcome::kPassed);
  EXPECT_EQ(report.checks[0].champion_version, 1);
  EXPECT_EQ(report.checks[1].outcome, CheckOutcome::kFailed);
  EXPECT_EQ(report.checks[1].champion_version, 2);
  EXPECT_NEAR(report.checks[1].measured, -0.06, 1e-12);
  EXPECT_EQ(report.checks[2].outcome, CheckOutcome::kFailed);
  EXPECT_EQ(report.checks[2].message, "no champion: alias \"shadow\" points at no other version");
  EXPECT_FALSE(report.passed);
}

TEST(EvaluateGateTest, EmptyGatePasses) {
  GateReport report = EvaluateGate(StageGate{}, Stage::kStaging, VersionRecord{}, nullptr, 0, 0);
  EXPECT_TRUE(report.passed);
  EXPECT_TRUE(report.checks.empty());
}

TEST(ValidateGatePolicyTest, RejectsApprovalCountOutOfRange) {
  GatePolicy p;
  p.production.approvals.count = 11;
  absl::Status s = ValidateGatePolicy(p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("production.approvals.count"), std::string::npos);
}

TEST(ValidateGatePolicyTest, RejectsThresholdWithoutMetric) {
  GatePolicy p;
  p.staging.thresholds.push_back({"", "", Comparison::kGreaterOrEqual, 1, ""});
  EXPECT_EQ(ValidateGatePolicy(p).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CheckApproverTest, RequesterCannotApproveOwnRequest) {
  EXPECT_EQ(CheckApprover({"alice", Role::kAdmin}, "alice", Role::kDeployer, {}).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(CheckApproverTest, ViewerAndEditorCannotApprove) {
  EXPECT_EQ(CheckApprover({"bob", Role::kViewer}, "alice", Role::kDeployer, {}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckApprover({"bob", Role::kEditor}, "alice", Role::kDeployer, {}).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(CheckApproverTest, AdminAlwaysQualifiesAndDuplicatesAreRejected) {
  EXPECT_TRUE(CheckApprover({"root", Role::kAdmin}, "alice", Role::kAdmin, {}).ok());
  EXPECT_TRUE(CheckApprover({"bob", Role::kDeployer}, "alice", Role::kDeployer, {}).ok());
  EXPECT_EQ(CheckApprover({"bob", Role::kDeployer}, "alice", Role::kDeployer, {"bob"}).code(),
            absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace mlops::registry
