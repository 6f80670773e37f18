// Explanations over the real gateway service: per-row TreeSHAP contributions
// named by the signature, with the values the model saw, summing (with the
// bias) to XGBoost's own margin; never computed when not asked.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/xgboost/xgb_booster.h"
#include "gmock/gmock.h"
#include "services/gateway/testing/gateway_fixture.h"

namespace mlops::gateway::testing {
namespace {

namespace iv1 = ::mlops::inference::v1;

using ExplainPgTest = GatewayPgTest;

// XGBoost's own margin (log-odds) for one row of model `json`.
double DirectMargin(const std::string& json, const std::vector<float>& values) {
  absl::StatusOr<xgb::XgbBooster> b = xgb::XgbBooster::Load(json);
  EXPECT_TRUE(b.ok());
  absl::StatusOr<xgb::Prediction> p = b->PredictMarginDense(values.data(), 1, values.size());
  EXPECT_TRUE(p.ok());
  return p->values[0];
}

iv1::PredictRequest InlineRows(const std::vector<std::vector<double>>& rows) {
  iv1::PredictRequest req;
  req.set_endpoint("fraud_ep");
  for (const char* name : {"f2", "f0", "f3", "f1"}) req.add_feature_names(name);  // any order
  for (const std::vector<double>& values : rows) {
    auto* row = req.add_rows()->mutable_features();
    for (double x : values) row->add_values()->set_double_value(x);
  }
  return req;
}

TEST_F(ExplainPgTest, ExplanationNamesEveryInputAndSumsToTheMargin) {
  // Values by request order f2, f0, f3, f1.
  const std::vector<std::vector<double>> rows = {{0.1, 0.8, 0.4, 0.9}, {0.5, 0.2, 0.7, 0.3}};
  iv1::PredictRequest req = InlineRows(rows);
  req.mutable_options()->set_explain(true);
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(req, &resp).ok());
  ASSERT_EQ(resp.predictions_size(), 2);
  for (int r = 0; r < 2; ++r) {
    const iv1::RowPrediction& p = resp.predictions(r);
    ASSERT_EQ(p.explanations_size(), 1) << r;
    const iv1::Explanation& e = p.explanations(0);
    EXPECT_EQ(e.output_index(), 0);
    EXPECT_EQ(e.class_label(), "");
    ASSERT_EQ(e.contributions_size(), kCols);
    // Signature order, with the value each input had.
    const std::vector<float> in_signature_order = {
        static_cast<float>(rows[r][1]), static_cast<float>(rows[r][3]),
        static_cast<float>(rows[r][0]), static_cast<float>(rows[r][2])};
    double sum = e.bias();
    for (int j = 0; j < kCols; ++j) {
      EXPECT_EQ(e.contributions(j).feature(), absl::StrCat("f", j));
      EXPECT_FLOAT_EQ(e.contributions(j).value().double_value(), in_signature_order[j]);
      sum += e.contributions(j).contribution();
    }
    EXPECT_NEAR(sum, DirectMargin(models_[1], in_signature_order), 1e-5) << r;
    EXPECT_NEAR(sum, p.margin(), 1e-4) << r;  // the response's margin is logit(score)
    // The features that decide the label (x0 + x1 > 1) carry the weight.
    EXPECT_GT(std::fabs(e.contributions(0).contribution()) + std::fabs(e.contributions(1).contribution()),
              std::fabs(e.contributions(2).contribution()) + std::fabs(e.contributions(3).contribution()));
  }
  EXPECT_EQ(loader_.explains.load(), 1);  // one call for the variant's rows
}

TEST_F(ExplainPgTest, ExplanationsOfRowsFetchedByEntityKeyUseTheFetchedValues) {
  iv1::PredictRequest req = ByKey(40, 3);
  req.mutable_options()->set_explain(true);
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(req, &resp).ok());
  for (int r = 0; r < 3; ++r) {
    std::vector<float> values;
    for (int c = 0; c < kCols; ++c) values.push_back(static_cast<float>(FakeFeatures::Value(40 + r, c)));
    const iv1::Explanation& e = resp.predictions(r).explanations(0);
    double sum = e.bias();
    for (const iv1::FeatureContribution& c : e.contributions()) sum += c.contribution();
    EXPECT_NEAR(sum, DirectMargin(models_[1], values), 1e-5) << r;
    EXPECT_FLOAT_EQ(e.contributions(2).value().double_value(), values[2]);
  }
}

TEST_F(ExplainPgTest, NotComputedWhenNotAsked) {
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(InlineRows({{0.1, 0.8, 0.4, 0.9}}), &resp).ok());
  ASSERT_TRUE(Predict(ByKey(7, 4), &resp).ok());
  for (const iv1::RowPrediction& p : resp.predictions()) EXPECT_EQ(p.explanations_size(), 0);
  EXPECT_EQ(loader_.explains.load(), 0);
}

}  // namespace
}  // namespace mlops::gateway::testing
