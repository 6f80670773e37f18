// Rollout analysis decisions with an injected clock: wait for the window and
// enough rows, advance, complete, and roll back on each kind of breach.
#include "services/gateway/rollback_policy.h"

#include "gtest/gtest.h"

namespace mlops::gateway {
namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kStart = 1'700'000'000'000'000;

RolloutPlan CanaryPlan() {
  RolloutPlan p;
  p.strategy = Strategy::kCanary;
  p.steps = {{10, 60 * kSecond, 100}, {100, 60 * kSecond, 100}};
  p.thresholds.max_error_rate = 0.05;
  p.thresholds.max_p99_latency_micros = 5000;
  p.thresholds.max_prediction_shift = 0.2;
  p.thresholds.min_requests = 100;
  return p;
}

VariantSnapshot Healthy(int64_t n, double score_base) {
  VariantSnapshot v;
  v.requests = n;
  v.p99_latency_micros = 1000;
  for (int64_t i = 0; i < n; ++i) v.scores.push_back(score_base + static_cast<double>(i % 10) / 10);
  return v;
}

AnalysisInput Input(const RolloutPlan& plan, int step, int64_t elapsed) {
  AnalysisInput in;
  in.plan = &plan;
  in.step = step;
  in.step_started_at_micros = kStart;
  in.now_micros = kStart + elapsed;
  in.primary = Healthy(1000, 0);
  in.candidate = Healthy(200, 0);
  return in;
}

TEST(AnalyzeTest, WaitsUntilTheWindowEnds) {
  const RolloutPlan plan = CanaryPlan();
  EXPECT_EQ(Analyze(Input(plan, 0, 59 * kSecond)).action, AnalysisAction::kWait);
}

TEST(AnalyzeTest, AdvancesWhenTheWindowEndedAndChecksPass) {
  const RolloutPlan plan = CanaryPlan();
  AnalysisResult a = Analyze(Input(plan, 0, 60 * kSecond));
  EXPECT_EQ(a.action, AnalysisAction::kAdvance);
  ASSERT_EQ(a.checks.size(), 3u);
  for (const CheckResult& c : a.checks) EXPECT_TRUE(c.evaluated && c.passed) << c.name;
}

TEST(AnalyzeTest, CompletesAfterTheLastStep) {
  const RolloutPlan plan = CanaryPlan();
  EXPECT_EQ(Analyze(Input(plan, 1, 61 * kSecond)).action, AnalysisAction::kComplete);
}

TEST(AnalyzeTest, WaitsForEnoughCandidateRowsEvenAfterTheWindow) {
  const RolloutPlan plan = CanaryPlan();
  AnalysisInput in = Input(plan, 0, 120 * kSecond);
  in.candidate = Healthy(50, 0);
  AnalysisResult a = Analyze(in);
  EXPECT_EQ(a.action, AnalysisAction::kWait);
  EXPECT_FALSE(a.checks[0].evaluated);
}

TEST(AnalyzeTest, RollsBackOnErrorRateAtOnceInsideTheWindow) {
  const RolloutPlan plan = CanaryPlan();
  AnalysisInput in = Input(plan, 0, 1 * kSecond);
  in.candidate.errors = 20;
  in.candidate.error_rate = 0.1;
  AnalysisResult a = Analyze(in);
  EXPECT_EQ(a.action, AnalysisAction::kRollback);
  EXPECT_NE(a.reason.find("error_rate"), std::string::npos);
}

TEST(AnalyzeTest, RollsBackOnP99Latency) {
  const RolloutPlan plan = CanaryPlan();
  AnalysisInput in = Input(plan, 0, 1 * kSecond);
  in.candidate.p99_latency_micros = 9000;
  EXPECT_EQ(Analyze(in).action, AnalysisAction::kRollback);
}

TEST(AnalyzeTest, RollsBackOnPredictionShift) {
  const RolloutPlan plan = CanaryPlan();
  AnalysisInput in = Input(plan, 0, 1 * kSecond);
  in.candidate.scores.assign(200, 0.95);  // all mass in the top bin
  AnalysisResult a = Analyze(in);
  EXPECT_EQ(a.action, AnalysisAction::kRollback);
  EXPECT_NE(a.reason.find("prediction_shift"), std::string::npos);
}

TEST(AnalyzeTest, ReportsButDoesNotRollBackWhenAutoRollbackIsOff) {
  RolloutPlan plan = CanaryPlan();
  plan.auto_rollback = false;
  AnalysisInput in = Input(plan, 0, 120 * kSecond);
  in.candidate.error_rate = 0.5;
  AnalysisResult a = Analyze(in);
  EXPECT_TRUE(a.breached);
  EXPECT_EQ(a.action, AnalysisAction::kWait);
}

TEST(AnalyzeTest, ShadowBreachesOnLowAgreement) {
  RolloutPlan plan;
  plan.strategy = Strategy::kShadow;
  plan.window_micros = 60 * kSecond;
  plan.min_agreement_rate = 0.9;
  AnalysisInput in = Input(plan, 0, kSecond);
  in.shadow.compared = 500;
  in.shadow.agreement_rate = 0.7;
  EXPECT_EQ(Analyze(in).action, AnalysisAction::kRollback);
  in.shadow.agreement_rate = 0.95;
  in.now_micros = kStart + 60 * kSecond;
  EXPECT_EQ(Analyze(in).action, AnalysisAction::kComplete);
}

TEST(AnalyzeTest, BlueGreenWithoutWindowCompletesAtOnce) {
  RolloutPlan plan;
  plan.strategy = Strategy::kBlueGreen;
  AnalysisInput in = Input(plan, 0, 0);
  in.candidate = VariantSnapshot{};
  EXPECT_EQ(Analyze(in).action, AnalysisAction::kComplete);
}

TEST(PredictionShiftTest, IsZeroForIdenticalAndLargeForDisjointDistributions) {
  std::vector<double> a, b;
  for (int i = 0; i < 1000; ++i) {
    a.push_back(i / 1000.0);
    b.push_back(0.999);
  }
  EXPECT_NEAR(PredictionShift(ShiftMetric::kPsi, a, a), 0, 1e-9);
  EXPECT_GT(PredictionShift(ShiftMetric::kPsi, a, b), 1);
  EXPECT_NEAR(PredictionShift(ShiftMetric::kKs, a, b), 0.999, 0.01);
  EXPECT_GT(PredictionShift(ShiftMetric::kJensenShannon, a, b), 0.5);
}

}  // namespace
}  // namespace mlops::gateway
