// The gate's model tests against a real XGBoost model trained here: latency
// budget, bias gap across groups, regression set; input conversion and
// validation errors; check details round trip.
#include "services/registry/model_tests.h"

#include <cmath>
#include <random>

#include "common/testing/status_matchers.h"
#include "common/xgboost/xgb_booster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/inline_matrix.h"

namespace mlops::registry {
namespace {

using ::testing::HasSubstr;
namespace cv1 = ::mlops::common::v1;

// y = 1 when x0 + x1 > 1.
class ModelTestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(0, 1);
    std::vector<float> values;
    std::vector<float> labels;
    for (int i = 0; i < 1000; ++i) {
      const float a = u(rng), b = u(rng);
      values.push_back(a);
      values.push_back(b);
      labels.push_back(a + b > 1 ? 1.0f : 0.0f);
    }
    MLOPS_ASSERT_OK_AND_ASSIGN(xgb::XgbMatrix train, xgb::XgbMatrix::FromDense(values, 1000, 2));
    ASSERT_THAT(train.SetLabels(labels), IsOk());
    MLOPS_ASSERT_OK_AND_ASSIGN(
        xgb::XgbBooster booster,
        xgb::XgbBooster::ForTraining({&train}, {{"objective", "binary:logistic"},
                                                {"nthread", "1"}, {"max_depth", "4"}}));
    for (int i = 0; i < 20; ++i) ASSERT_THAT(booster.TrainOneRound(i, train), IsOk());
    booster_ = std::make_unique<xgb::XgbBooster>(std::move(booster));
    predict_ = [this](const float* v, std::size_t rows, std::size_t cols) {
      return booster_->PredictDense(v, rows, cols);
    };
    for (const char* name : {"x0", "x1"}) {
      auto* input = signature_.add_inputs();
      input->set_name(name);
      input->set_type(cv1::DATA_TYPE_DOUBLE);
    }
    signature_.mutable_output()->set_kind(v1::OUTPUT_KIND_BINARY_PROBABILITY);
  }

  // Rows (x0, x1, group, label) with the columns in a different order than the signature.
  static v1::InlineData Data(int rows, bool invert_labels_of_b) {
    v1::InlineData data;
    for (const auto& [name, type] : std::vector<std::pair<std::string, cv1::DataType>>{
             {"group", cv1::DATA_TYPE_STRING}, {"x1", cv1::DATA_TYPE_DOUBLE},
             {"x0", cv1::DATA_TYPE_DOUBLE}, {"label", cv1::DATA_TYPE_BOOL}}) {
      auto* c = data.mutable_schema()->add_columns();
      c->set_name(name);
      c->set_type(type);
    }
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(0, 1);
    for (int i = 0; i < rows; ++i) {
      const double a = u(rng), b = u(rng);
      const bool in_b = i % 2 == 1;
      bool label = a + b > 1;
      if (in_b && invert_labels_of_b) label = !label;
      auto* row = data.add_rows();
      row->add_values()->set_string_value(in_b ? "b" : "a");
      row->add_values()->set_double_value(b);
      row->add_values()->set_double_value(a);
      row->add_values()->set_bool_value(label);
    }
    return data;
  }

  std::unique_ptr<xgb::XgbBooster> booster_;
  PredictFn predict_;
  v1::ModelSignature signature_;
};

TEST_F(ModelTestsTest, RegressionSetPassesOnTheModelsOwnOutputsAndCountsChangedRows) {
  v1::RegressionSetTest test;
  *test.mutable_inputs() = Data(50, false);
  MLOPS_ASSERT_OK_AND_ASSIGN(FeatureMatrix m, BuildFeatureMatrix(signature_, test.inputs(), "inputs"));
  MLOPS_ASSERT_OK_AND_ASSIGN(xgb::Prediction p, booster_->PredictDense(m.values.data(), 50, 2));
  for (float v : p.values) test.add_expected()->add_values(v);
  CheckResult passed = RunRegressionSetTest(test, signature_, predict_);
  EXPECT_EQ(passed.outcome, CheckOutcome::kPassed) << passed.message;
  EXPECT_EQ(passed.measured, 0);

  for (int row : {3, 17, 40}) test.mutable_expected(row)->set_values(0, p.values[row] + 0.01);
  test.set_abs_tolerance(0.001);
  test.set_max_failures(2);
  CheckResult failed = RunRegressionSetTest(test, signature_, predict_);
  EXPECT_EQ(failed.outcome, CheckOutcome::kFailed);
  EXPECT_EQ(failed.measured, 3);
  EXPECT_EQ(failed.limit, 2);
  ASSERT_EQ(failed.mismatches.size(), 3u);
  EXPECT_EQ(failed.mismatches[1].row, 17);
  EXPECT_NEAR(failed.mismatches[1].expected[0] - failed.mismatches[1].actual[0], 0.01, 1e-6);

  test.set_abs_tolerance(0.02);  // now within tolerance
  EXPECT_EQ(RunRegressionSetTest(test, signature_, predict_).outcome, CheckOutcome::kPassed);
}

TEST_F(ModelTestsTest, BiasFailsWhenOneGroupIsServedFarWorse) {
  v1::BiasTest test;
  test.set_group_column("group");
  test.set_label_column("label");
  test.set_metric("accuracy");
  test.set_max_gap(0.1);
  *test.mutable_data() = Data(400, /*invert_labels_of_b=*/false);
  CheckResult fair = RunBiasTest(test, signature_, predict_);
  EXPECT_EQ(fair.outcome, CheckOutcome::kPassed) << fair.message;
  ASSERT_EQ(fair.groups.size(), 2u);
  EXPECT_GT(fair.groups[0].value, 0.85);

  *test.mutable_data() = Data(400, /*invert_labels_of_b=*/true);
  CheckResult unfair = RunBiasTest(test, signature_, predict_);
  EXPECT_EQ(unfair.outcome, CheckOutcome::kFailed);
  EXPECT_GT(unfair.measured, 0.7);  // group a near 1, group b near 0
  EXPECT_EQ(unfair.groups[1].group, "b");
  EXPECT_EQ(unfair.groups[1].count, 200);
  EXPECT_THAT(unfair.message, HasSubstr("across 2 groups of group"));

  test.set_min_group_size(1000);  // no group is large enough
  EXPECT_EQ(RunBiasTest(test, signature_, predict_).outcome, CheckOutcome::kError);
  test.clear_data();
  EXPECT_EQ(RunBiasTest(test, signature_, predict_).outcome, CheckOutcome::kError);
}

TEST_F(ModelTestsTest, LatencyMeasuresThePercentileAgainstTheBudget) {
  v1::LatencyBudgetTest test;
  *test.mutable_sample_rows() = Data(20, false);
  test.set_iterations(200);
  test.set_budget_micros(10'000'000);  // 10 s: always met
  CheckResult met = RunLatencyTest(test, signature_, predict_);
  EXPECT_EQ(met.outcome, CheckOutcome::kPassed) << met.message;
  EXPECT_GT(met.measured, 0);
  EXPECT_THAT(met.message, HasSubstr("p99 of 200 predictions of 1 row(s)"));
  test.set_budget_micros(1);  // no XGBoost call returns within 1 us
  EXPECT_EQ(RunLatencyTest(test, signature_, predict_).outcome, CheckOutcome::kFailed);
}

TEST_F(ModelTestsTest, InputsAreCheckedByNameAndType) {
  v1::InlineData data = Data(3, false);
  data.mutable_schema()->mutable_columns(2)->set_name("other");  // x0 is gone
  EXPECT_THAT(BuildFeatureMatrix(signature_, data, "inputs"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no column \"x0\"")));
  data = Data(3, false);
  data.mutable_rows(2)->mutable_values(1)->set_string_value("oops");
  EXPECT_THAT(BuildFeatureMatrix(signature_, data, "inputs"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("row 2, input \"x1\"")));
  data = Data(3, false);
  data.mutable_rows(0)->mutable_values(2)->Clear();  // NULL in a non-nullable input
  EXPECT_THAT(BuildFeatureMatrix(signature_, data, "inputs"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NULL not allowed")));
  v1::RegressionSetTest test;
  *test.mutable_inputs() = data;
  test.add_expected()->add_values(0.5);
  EXPECT_EQ(RunRegressionSetTest(test, signature_, predict_).outcome, CheckOutcome::kError);
}

TEST(BiasMetricTest, MatchesHandComputedValues) {
  // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
  EXPECT_DOUBLE_EQ(BiasMetric("auc", {0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}, 0.5), 0.75);
  EXPECT_DOUBLE_EQ(BiasMetric("auc", {0.5, 0.5}, {0, 1}, 0.5), 0.5);  // ties
  EXPECT_TRUE(std::isnan(BiasMetric("auc", {0.2, 0.3}, {1, 1}, 0.5)));
  EXPECT_DOUBLE_EQ(BiasMetric("accuracy", {0.9, 0.2, 0.6}, {1, 0, 0}, 0.5), 2.0 / 3);
  EXPECT_DOUBLE_EQ(BiasMetric("positive_rate", {0.9, 0.2, 0.6, 0.1}, {1, 0, 0, 0}, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(BiasMetric("true_positive_rate", {0.9, 0.2, 0.6}, {1, 1, 0}, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(BiasMetric("false_positive_rate", {0.9, 0.2, 0.6}, {1, 1, 0}, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(BiasMetric("rmse", {1, 3}, {0, 0}, 0.5), std::sqrt(5.0));
  EXPECT_DOUBLE_EQ(BiasMetric("mae", {1, -3}, {0, 0}, 0.5), 2.0);
}

TEST(ValidateModelTestsTest, NamesTheBadField) {
  v1::StageGate gate;
  gate.add_latency_tests()->set_budget_micros(100);  // no sample rows
  EXPECT_THAT(ValidateModelTests(gate, "policy.production"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policy.production.latency_tests[0].sample_rows")));
  gate.Clear();
  auto* bias = gate.add_bias_tests();
  bias->set_group_column("country");
  bias->set_metric("fairness");
  EXPECT_THAT(ValidateModelTests(gate, "policy.staging"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policy.staging.bias_tests[0].metric")));
  gate.Clear();
  auto* regression = gate.add_regression_tests();
  regression->mutable_inputs()->add_rows();
  EXPECT_THAT(ValidateModelTests(gate, "p"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("p.regression_tests[0].expected")));
}

TEST(CheckDetailsTest, GroupsAndMismatchesRoundTrip) {
  CheckResult check;
  check.groups = {{"tab\there\nnewline", 0.25, 40}, {"b", 1.0 / 3, 31}};
  check.mismatches = {{7, {0.1, 0.9}, {0.3, 0.7}}};
  CheckResult back;
  ASSERT_THAT(DecodeCheckDetails(EncodeCheckDetails(check), &back), IsOk());
  ASSERT_EQ(back.groups.size(), 2u);
  EXPECT_EQ(back.groups[0].group, "tab\there\nnewline");
  EXPECT_EQ(back.groups[1].value, 1.0 / 3);
  EXPECT_EQ(back.groups[1].count, 31);
  ASSERT_EQ(back.mismatches.size(), 1u);
  EXPECT_EQ(back.mismatches[0].row, 7);
  EXPECT_EQ(back.mismatches[0].actual, (std::vector<double>{0.3, 0.7}));
  EXPECT_THAT(DecodeCheckDetails("x\t1\t2\t3\n", &back), StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace mlops::registry
