#include "services/monitoring/label_quality.h"

#include <cmath>

#include "gtest/gtest.h"

namespace mlops::monitoring {
namespace {

LabelledPrediction Binary(double score, bool positive) {
  LabelledPrediction p;
  p.score = score;
  p.label.kind = LabelValue::Kind::kBool;
  p.label.number = positive ? 1 : 0;
  return p;
}

LabelledPrediction Regression(double score, double label) {
  LabelledPrediction p;
  p.score = score;
  p.label.kind = LabelValue::Kind::kDouble;
  p.label.number = label;
  return p;
}

TEST(LabelQualityTest, BinaryAccuracyUsesThresholdHalf) {
  const QualityMetrics m = ComputeQuality(
      {Binary(0.9, true), Binary(0.5, true), Binary(0.49, true), Binary(0.2, false)});
  ASSERT_TRUE(m.accuracy.has_value());
  EXPECT_DOUBLE_EQ(*m.accuracy, 0.75);
  EXPECT_FALSE(m.rmse.has_value());
}

TEST(LabelQualityTest, AucMatchesSklearnWithTies) {
  // sklearn.metrics.roc_auc_score([0, 0, 1, 1, 1], [0.1, 0.4, 0.35, 0.8, 0.4]) = 0.75
  const QualityMetrics m = ComputeQuality({Binary(0.1, false), Binary(0.4, false),
                                           Binary(0.35, true), Binary(0.8, true),
                                           Binary(0.4, true)});
  ASSERT_TRUE(m.auc.has_value());
  EXPECT_NEAR(*m.auc, 0.75, 1e-12);
}

TEST(LabelQualityTest, AucUndefinedWithOneClass) {
  const QualityMetrics m = ComputeQuality({Binary(0.9, true), Binary(0.3, true)});
  EXPECT_FALSE(m.auc.has_value());
  EXPECT_TRUE(m.accuracy.has_value());
}

TEST(LabelQualityTest, LogLossClipsCertainMistakes) {
  // -(log(0.8) + log(1 - 0.3)) / 2, and a certain mistake clipped at 1e-15.
  QualityMetrics m = ComputeQuality({Binary(0.8, true), Binary(0.3, false)});
  ASSERT_TRUE(m.log_loss.has_value());
  EXPECT_NEAR(*m.log_loss, -(std::log(0.8) + std::log(0.7)) / 2, 1e-12);
  m = ComputeQuality({Binary(0.0, true)});
  EXPECT_NEAR(*m.log_loss, -std::log(1e-15), 1e-9);
}

TEST(LabelQualityTest, RegressionRmseAndMae) {
  const QualityMetrics m = ComputeQuality({Regression(1, 2), Regression(3, 1), Regression(5, 5)});
  ASSERT_TRUE(m.rmse.has_value());
  EXPECT_NEAR(*m.rmse, std::sqrt(5.0 / 3), 1e-12);
  EXPECT_NEAR(*m.mae, 1.0, 1e-12);
  EXPECT_FALSE(m.accuracy.has_value());
}

TEST(LabelQualityTest, MulticlassComparesPredictedLabel) {
  LabelledPrediction right;
  right.score = 0.7;
  right.predicted_label = "cat";
  right.label.kind = LabelValue::Kind::kString;
  right.label.text = "cat";
  LabelledPrediction wrong = right;
  wrong.label.text = "dog";
  const QualityMetrics m = ComputeQuality({right, wrong, wrong});
  EXPECT_NEAR(*m.accuracy, 1.0 / 3, 1e-12);
  EXPECT_FALSE(m.auc.has_value());
}

TEST(LabelQualityTest, IntLabelIsRegressionWithoutPredictedLabel) {
  LabelledPrediction p;
  p.score = 3;
  p.label.kind = LabelValue::Kind::kInt64;
  p.label.number = 1;
  p.label.text = "1";
  bool positive = false;
  EXPECT_EQ(TaskOf(p, &positive), LabelTask::kRegression);
  p.predicted_label = "1";
  EXPECT_EQ(TaskOf(p, &positive), LabelTask::kBinary);
  EXPECT_TRUE(positive);
}

TEST(LabelQualityTest, FailedPredictionsDoNotCount) {
  LabelledPrediction failed = Binary(0, true);
  failed.score.reset();
  const QualityMetrics m = ComputeQuality({failed, Binary(0.9, true)});
  EXPECT_EQ(m.labelled, 1);
  EXPECT_DOUBLE_EQ(*m.accuracy, 1.0);
}

}  // namespace
}  // namespace mlops::monitoring
