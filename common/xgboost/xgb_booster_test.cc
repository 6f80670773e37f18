#include "common/xgboost/xgb_booster.h"

#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::xgb {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::DoubleNear;

// rows x 2 features; label = x0 + x1 > 1 (with a few NaNs in x1).
struct Data {
  std::vector<float> values;
  std::vector<float> labels;
  std::size_t rows = 0;
};

Data MakeData(std::size_t rows, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0, 1);
  Data data;
  data.rows = rows;
  for (std::size_t i = 0; i < rows; ++i) {
    const float x0 = uniform(rng);
    const float x1 = uniform(rng);
    data.values.push_back(x0);
    data.values.push_back(i % 17 == 0 ? std::nanf("") : x1);
    data.labels.push_back(x0 + x1 > 1 ? 1.0f : 0.0f);
  }
  return data;
}

absl::StatusOr<XgbBooster> TrainBinary(const XgbMatrix& train, const XgbMatrix& valid,
                                       int rounds) {
  absl::StatusOr<XgbBooster> booster =
      XgbBooster::ForTraining({&train, &valid}, {{"objective", "binary:logistic"},
                                                 {"eval_metric", "auc"},
                                                 {"max_depth", "3"},
                                                 {"nthread", "1"},
                                                 {"seed", "7"}});
  for (int i = 0; booster.ok() && i < rounds; ++i) {
    absl::Status status = booster->TrainOneRound(i, train);
    if (!status.ok()) return status;
  }
  return booster;
}

TEST(XgbBoosterTest, TrainsABinaryClassifierThatSeparatesTheClasses) {
  const Data train_data = MakeData(2000, 1);
  const Data valid_data = MakeData(500, 2);
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbMatrix train, XgbMatrix::FromDense(train_data.values, 2000, 2));
  ASSERT_THAT(train.SetLabels(train_data.labels), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbMatrix valid, XgbMatrix::FromDense(valid_data.values, 500, 2));
  ASSERT_THAT(valid.SetLabels(valid_data.labels), IsOk());

  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster booster, TrainBinary(train, valid, 20));
  MLOPS_ASSERT_OK_AND_ASSIGN(auto metrics, booster.Evaluate(19, {{"valid", &valid}}));
  ASSERT_EQ(metrics.count("valid-auc"), 1u);
  EXPECT_GT(metrics["valid-auc"], 0.95);
  MLOPS_ASSERT_OK_AND_ASSIGN(int rounds, booster.BoostedRounds());
  EXPECT_EQ(rounds, 20);
  MLOPS_ASSERT_OK_AND_ASSIGN(std::size_t features, booster.NumFeatures());
  EXPECT_EQ(features, 2u);
}

TEST(XgbBoosterTest, SavedJsonLoadsBackWithIdenticalPredictions) {
  const Data data = MakeData(300, 3);
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbMatrix train, XgbMatrix::FromDense(data.values, 300, 2));
  ASSERT_THAT(train.SetLabels(data.labels), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster booster, TrainBinary(train, train, 5));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string json, booster.SaveJson());
  EXPECT_EQ(json.front(), '{');
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster loaded, XgbBooster::Load(json));

  MLOPS_ASSERT_OK_AND_ASSIGN(Prediction original, booster.Predict(train));
  MLOPS_ASSERT_OK_AND_ASSIGN(Prediction reloaded, loaded.PredictDense(data.values.data(), 300, 2));
  ASSERT_EQ(original.rows, 300u);
  EXPECT_EQ(original.outputs, 1u);
  EXPECT_EQ(original.values, reloaded.values);
  for (float p : reloaded.values) {
    EXPECT_GE(p, 0.0f);
    EXPECT_LE(p, 1.0f);
  }
}

TEST(XgbBoosterTest, PredictsFromManyThreadsAtOnceWithTheSameAnswers) {
  const Data data = MakeData(400, 4);
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbMatrix train, XgbMatrix::FromDense(data.values, 400, 2));
  ASSERT_THAT(train.SetLabels(data.labels), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster booster, TrainBinary(train, train, 10));
  MLOPS_ASSERT_OK_AND_ASSIGN(Prediction expected, booster.PredictDense(data.values.data(), 400, 2));

  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t row = 0; row < 400; ++row) {
        auto one = booster.PredictDense(&data.values[row * 2], 1, 2);
        if (!one.ok() || one->values.size() != 1 || one->values[0] != expected.values[row]) {
          ++mismatches[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

TEST(XgbBoosterTest, SoftprobGivesOneProbabilityPerClass) {
  std::vector<float> values;
  std::vector<float> labels;
  for (int i = 0; i < 90; ++i) {
    values.push_back(static_cast<float>(i % 3) + 0.1f * static_cast<float>(i % 5));
    labels.push_back(static_cast<float>(i % 3));
  }
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbMatrix train, XgbMatrix::FromDense(values, 90, 1));
  ASSERT_THAT(train.SetLabels(labels), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(
      XgbBooster booster,
      XgbBooster::ForTraining({&train}, {{"objective", "multi:softprob"}, {"num_class", "3"},
                                         {"nthread", "1"}}));
  for (int i = 0; i < 5; ++i) ASSERT_THAT(booster.TrainOneRound(i, train), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(Prediction prediction, booster.PredictDense(values.data(), 90, 1));
  EXPECT_EQ(prediction.rows, 90u);
  EXPECT_EQ(prediction.outputs, 3u);
  EXPECT_NEAR(prediction.values[0] + prediction.values[1] + prediction.values[2], 1.0, 1e-5);
  EXPECT_GT(prediction.values[2 * 3 + 2], 0.5f);  // row 2 is class 2
}

TEST(XgbBoosterTest, FirstRoundsKeepsOnlyThePrefix) {
  const Data data = MakeData(200, 5);
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbMatrix train, XgbMatrix::FromDense(data.values, 200, 2));
  ASSERT_THAT(train.SetLabels(data.labels), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster booster, TrainBinary(train, train, 8));
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster prefix, booster.FirstRounds(3));
  MLOPS_ASSERT_OK_AND_ASSIGN(int rounds, prefix.BoostedRounds());
  EXPECT_EQ(rounds, 3);
}

TEST(XgbBoosterTest, RejectsBadInputWithClearErrors) {
  EXPECT_THAT(XgbBooster::Load("not a model"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(XgbBooster::Load(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(XgbMatrix::FromDense({1, 2, 3}, 2, 2), StatusIs(absl::StatusCode::kInvalidArgument));
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbMatrix matrix, XgbMatrix::FromDense({1, 2, 3, 4}, 2, 2));
  EXPECT_THAT(matrix.SetLabels({1}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(matrix.SetLabels({1, std::nanf("")}), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(matrix.SetLabels({0, 1}), IsOk());
  // XGBoost checks the objective when training starts, not when it is set.
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster booster,
                             XgbBooster::ForTraining({&matrix}, {{"objective", "no:such"}}));
  EXPECT_THAT(booster.TrainOneRound(0, matrix), StatusIs(absl::StatusCode::kInternal));
}

TEST(ParseEvalLineTest, ReadsEveryNamedMetric) {
  MLOPS_ASSERT_OK_AND_ASSIGN(auto metrics,
                             ParseEvalLine("[3]\ttrain-auc:0.91\tvalid-logloss:0.25"));
  EXPECT_THAT(metrics, ElementsAre(Pair("train-auc", DoubleNear(0.91, 1e-12)),
                                   Pair("valid-logloss", DoubleNear(0.25, 1e-12))));
  EXPECT_THAT(ParseEvalLine("[0]\tgarbage"), StatusIs(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace mlops::xgb
