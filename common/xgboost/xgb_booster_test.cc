#include "common/xgboost/xgb_booster.h"

#include <algorithm>
#include <cmath>
#include <functional>
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

// A multi:softprob model of 3 classes, 5 rounds, on `labels.size()` rows.
absl::StatusOr<XgbBooster> TrainThreeClasses(const std::vector<float>& values,
                                             const std::vector<float>& labels, std::size_t cols) {
  absl::StatusOr<XgbMatrix> train = XgbMatrix::FromDense(values, labels.size(), cols);
  if (!train.ok()) return train.status();
  if (absl::Status s = train->SetLabels(labels); !s.ok()) return s;
  absl::StatusOr<XgbBooster> booster = XgbBooster::ForTraining(
      {&*train}, {{"objective", "multi:softprob"}, {"num_class", "3"}, {"nthread", "1"}});
  for (int i = 0; booster.ok() && i < 5; ++i) {
    if (absl::Status s = booster->TrainOneRound(i, *train); !s.ok()) return s;
  }
  return booster;
}

// Runs `same(row)` for rows [0, rows) on 4 threads at once; per thread, the
// number of rows for which it returned false.
std::vector<int> MismatchesPerThread(std::size_t rows,
                                     const std::function<bool(std::size_t)>& same) {
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t row = 0; row < rows; ++row) mismatches[t] += same(row) ? 0 : 1;
    });
  }
  for (auto& thread : threads) thread.join();
  return mismatches;
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

  EXPECT_THAT(MismatchesPerThread(400, [&](std::size_t row) {
                auto one = booster.PredictDense(&data.values[row * 2], 1, 2);
                return one.ok() && one->values.size() == 1 && one->values[0] == expected.values[row];
              }),
              ElementsAre(0, 0, 0, 0));
}

TEST(XgbBoosterTest, SoftprobGivesOneProbabilityPerClass) {
  std::vector<float> values;
  std::vector<float> labels;
  for (int i = 0; i < 90; ++i) {
    values.push_back(static_cast<float>(i % 3) + 0.1f * static_cast<float>(i % 5));
    labels.push_back(static_cast<float>(i % 3));
  }
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster booster, TrainThreeClasses(values, labels, 1));
  MLOPS_ASSERT_OK_AND_ASSIGN(Prediction prediction, booster.PredictDense(values.data(), 90, 1));
  EXPECT_EQ(prediction.rows, 90u);
  EXPECT_EQ(prediction.outputs, 3u);
  EXPECT_NEAR(prediction.values[0] + prediction.values[1] + prediction.values[2], 1.0, 1e-5);
  EXPECT_GT(prediction.values[2 * 3 + 2], 0.5f);  // row 2 is class 2
}

// Sum of one row's contributions (bias included) for one output.
double ContributionSum(const Contributions& c, std::size_t row, std::size_t output) {
  double sum = 0;
  for (std::size_t j = 0; j <= c.cols; ++j) sum += c.At(row, output)[j];
  return sum;
}

TEST(XgbBoosterTest, ContributionsSumToTheMarginForEveryRow) {
  const Data data = MakeData(300, 6);  // x1 is NaN every 17th row
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbMatrix train, XgbMatrix::FromDense(data.values, 300, 2));
  ASSERT_THAT(train.SetLabels(data.labels), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster booster, TrainBinary(train, train, 10));
  MLOPS_ASSERT_OK_AND_ASSIGN(Contributions contribs,
                             booster.PredictContributions(data.values.data(), 300, 2));
  MLOPS_ASSERT_OK_AND_ASSIGN(Prediction margin, booster.PredictMarginDense(data.values.data(), 300, 2));
  MLOPS_ASSERT_OK_AND_ASSIGN(Prediction prob, booster.PredictDense(data.values.data(), 300, 2));
  ASSERT_EQ(contribs.rows, 300u);
  ASSERT_EQ(contribs.outputs, 1u);
  ASSERT_EQ(contribs.cols, 2u);
  ASSERT_EQ(contribs.values.size(), 300u * 3u);
  ASSERT_EQ(margin.values.size(), 300u);
  bool some_feature_matters = false;
  for (std::size_t r = 0; r < 300; ++r) {
    EXPECT_NEAR(ContributionSum(contribs, r, 0), margin.values[r], 1e-5) << "row " << r;
    // The margin is the log-odds of the transformed prediction.
    EXPECT_NEAR(1 / (1 + std::exp(-static_cast<double>(margin.values[r]))), prob.values[r], 1e-5);
    some_feature_matters = some_feature_matters || std::fabs(contribs.At(r, 0)[0]) > 0.1;
  }
  EXPECT_TRUE(some_feature_matters);
  // The bias is the same for every row (the expected margin).
  EXPECT_EQ(contribs.At(0, 0)[2], contribs.At(299, 0)[2]);
}

TEST(XgbBoosterTest, ContributionsOfMulticlassComePerClass) {
  std::vector<float> values;
  std::vector<float> labels;
  for (int i = 0; i < 90; ++i) {
    values.push_back(static_cast<float>(i % 3) + 0.1f * static_cast<float>(i % 5));
    values.push_back(static_cast<float>(i % 7));
    labels.push_back(static_cast<float>(i % 3));
  }
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster booster, TrainThreeClasses(values, labels, 2));
  MLOPS_ASSERT_OK_AND_ASSIGN(Contributions contribs, booster.PredictContributions(values.data(), 90, 2));
  MLOPS_ASSERT_OK_AND_ASSIGN(Prediction margin, booster.PredictMarginDense(values.data(), 90, 2));
  ASSERT_EQ(contribs.outputs, 3u);
  ASSERT_EQ(margin.outputs, 3u);
  for (std::size_t r = 0; r < 90; ++r) {
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_NEAR(ContributionSum(contribs, r, k), margin.values[r * 3 + k], 1e-5) << r << "," << k;
    }
  }
}

TEST(XgbBoosterTest, ContributionsAndPredictionsFromManyThreadsAtOnceAreTheSame) {
  const Data data = MakeData(200, 7);
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbMatrix train, XgbMatrix::FromDense(data.values, 200, 2));
  ASSERT_THAT(train.SetLabels(data.labels), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(XgbBooster booster, TrainBinary(train, train, 10));
  MLOPS_ASSERT_OK_AND_ASSIGN(Contributions expected,
                             booster.PredictContributions(data.values.data(), 200, 2));
  MLOPS_ASSERT_OK_AND_ASSIGN(Prediction expected_p, booster.PredictDense(data.values.data(), 200, 2));
  // Contributions (through a DMatrix) interleaved with in-place predictions,
  // as the gateway runs them on one loaded model.
  EXPECT_THAT(MismatchesPerThread(200, [&](std::size_t row) {
                auto one = booster.PredictContributions(&data.values[row * 2], 1, 2);
                auto p = booster.PredictDense(&data.values[row * 2], 1, 2);
                return one.ok() && one->values.size() == 3 &&
                       std::equal(one->values.begin(), one->values.end(), expected.At(row, 0)) &&
                       p.ok() && p->values.size() == 1 && p->values[0] == expected_p.values[row];
              }),
              ElementsAre(0, 0, 0, 0));
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
