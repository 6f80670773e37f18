// FlatForest against XGBoost itself: the same trees must give the same
// floats, bit for bit, on random rows, on the training rows (whose values are
// the split thresholds: `<` versus `<=` shows there), with NaNs (default
// branches) and infinities, for binary, regression and multiclass models.
#include "services/gateway/flat_forest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "common/xgboost/xgb_booster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::gateway {
namespace {

constexpr std::size_t kRows = 1500;

struct Trained {
  xgb::XgbBooster booster;
  std::vector<float> train;  // the training rows
};

// `cols` uniform features with 5% NaN; label from the first three.
Trained Train(std::size_t cols, const xgb::XgbBooster::Params& params, int rounds, int classes) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> x, y;
  for (std::size_t r = 0; r < kRows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      x.push_back(u(rng) < 0.05f ? std::numeric_limits<float>::quiet_NaN() : u(rng));
    }
    const float s = (std::isnan(x[r * cols]) ? 0.5f : x[r * cols]) + x[r * cols + 1] * 0.5f;
    y.push_back(classes > 1 ? std::floor(s / 1.5f * static_cast<float>(classes)) : s);
  }
  if (classes == 1) {  // binary
    for (float& v : y) v = v > 0.75f ? 1.0f : 0.0f;
  }
  for (float& v : y) v = std::isnan(v) ? 0.0f : v;
  absl::StatusOr<xgb::XgbMatrix> m = xgb::XgbMatrix::FromDense(x, kRows, cols);
  EXPECT_THAT(m.status(), IsOk());
  EXPECT_THAT(m->SetLabels(y), IsOk());
  absl::StatusOr<xgb::XgbBooster> b = xgb::XgbBooster::ForTraining({&*m}, params);
  EXPECT_THAT(b.status(), IsOk());
  for (int i = 0; i < rounds; ++i) EXPECT_THAT(b->TrainOneRound(i, *m), IsOk());
  return {std::move(*b), std::move(x)};
}

// Every split threshold of the model, per feature, read from its JSON.
std::vector<std::vector<float>> Thresholds(const std::string& json, std::size_t cols) {
  google::protobuf::Struct root;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &root).ok());
  const auto& trees = root.fields().at("learner").struct_value().fields().at("gradient_booster")
                          .struct_value().fields().at("model").struct_value().fields().at("trees")
                          .list_value();
  std::vector<std::vector<float>> out(cols);
  for (const auto& tree : trees.values()) {
    const auto& f = tree.struct_value().fields();
    const auto& left = f.at("left_children").list_value();
    for (int i = 0; i < left.values_size(); ++i) {
      if (left.values(i).number_value() == -1) continue;
      const auto feature = static_cast<std::size_t>(f.at("split_indices").list_value().values(i).number_value());
      out[feature].push_back(static_cast<float>(f.at("split_conditions").list_value().values(i).number_value()));
    }
  }
  return out;
}

// Rows to compare: the training rows; rows whose every value is one of its
// feature's split thresholds (where `<` and `<=` part ways); random rows
// (some NaN, some +-inf); rows of all NaN.
std::vector<float> Inputs(const Trained& t, std::size_t cols) {
  std::vector<float> rows = t.train;
  std::mt19937 rng(11);
  const std::vector<std::vector<float>> thresholds = Thresholds(*t.booster.SaveJson(), cols);
  for (int r = 0; r < 2000; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      const std::vector<float>& v = thresholds[c];
      rows.push_back(v.empty() ? 0.5f : v[rng() % v.size()]);
    }
  }
  std::uniform_real_distribution<float> u(-0.5f, 1.5f);
  for (std::size_t r = 0; r < 2000 * cols; ++r) {
    const float p = u(rng);
    rows.push_back(p < -0.4f ? std::numeric_limits<float>::quiet_NaN()
                   : p > 1.45f ? std::numeric_limits<float>::infinity()
                   : p < -0.45f ? -std::numeric_limits<float>::infinity()
                                : u(rng));
  }
  rows.insert(rows.end(), 3 * cols, std::numeric_limits<float>::quiet_NaN());
  return rows;
}

void ExpectSameAsXgboost(const Trained& t, std::size_t cols, std::size_t outputs) {
  absl::StatusOr<std::string> json = t.booster.SaveJson();
  ASSERT_THAT(json.status(), IsOk());
  absl::StatusOr<FlatForest> forest = FlatForest::FromModelJson(*json);
  ASSERT_THAT(forest.status(), IsOk());
  const std::vector<float> x = Inputs(t, cols);
  const std::size_t rows = x.size() / cols;
  absl::StatusOr<xgb::Prediction> want = t.booster.PredictDense(x.data(), rows, cols);
  absl::StatusOr<xgb::Prediction> got = forest->Predict(x.data(), rows, cols);
  ASSERT_THAT(want.status(), IsOk());
  ASSERT_THAT(got.status(), IsOk());
  ASSERT_EQ(got->outputs, outputs);
  ASSERT_EQ(want->outputs, outputs);
  ASSERT_EQ(got->values.size(), want->values.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < got->values.size(); ++i) {
    if (std::memcmp(&got->values[i], &want->values[i], sizeof(float)) != 0 && differ++ < 5) {
      ADD_FAILURE() << "row " << i / outputs << " output " << i % outputs << ": flat "
                    << got->values[i] << ", xgboost " << want->values[i];
    }
  }
  EXPECT_EQ(differ, 0u) << "of " << got->values.size() << " values";
}

TEST(FlatForestTest, BinaryLogisticEqualsXgboostBitForBit) {
  Trained t = Train(30, {{"objective", "binary:logistic"}, {"max_depth", "6"}, {"nthread", "1"}}, 100, 1);
  ExpectSameAsXgboost(t, 30, 1);
}

TEST(FlatForestTest, BinaryWithBaseScoreEqualsXgboostBitForBit) {
  Trained t = Train(8, {{"objective", "binary:logistic"}, {"max_depth", "4"}, {"base_score", "0.3"},
                        {"tree_method", "exact"}, {"nthread", "1"}}, 40, 1);
  ExpectSameAsXgboost(t, 8, 1);
}

TEST(FlatForestTest, RegressionEqualsXgboostBitForBit) {
  Trained t = Train(12, {{"objective", "reg:squarederror"}, {"max_depth", "5"}, {"nthread", "1"}}, 60, 0);
  ExpectSameAsXgboost(t, 12, 1);
}

TEST(FlatForestTest, MulticlassSoftprobEqualsXgboostBitForBit) {
  Trained t = Train(10, {{"objective", "multi:softprob"}, {"num_class", "3"}, {"max_depth", "4"},
                         {"nthread", "1"}}, 30, 3);
  ExpectSameAsXgboost(t, 10, 3);
}

TEST(FlatForestTest, RefusesDartBoosters) {
  Trained t = Train(5, {{"objective", "binary:logistic"}, {"booster", "dart"}, {"nthread", "1"}}, 5, 1);
  absl::StatusOr<std::string> json = t.booster.SaveJson();
  ASSERT_THAT(json.status(), IsOk());
  EXPECT_THAT(FlatForest::FromModelJson(*json).status(), StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(FlatForestTest, WrongColumnCountIsInvalidArgument) {
  Trained t = Train(5, {{"objective", "binary:logistic"}, {"nthread", "1"}}, 3, 1);
  absl::StatusOr<FlatForest> forest = FlatForest::FromModelJson(*t.booster.SaveJson());
  ASSERT_THAT(forest.status(), IsOk());
  std::vector<float> row(4, 0.5f);
  EXPECT_THAT(forest->Predict(row.data(), 1, 4).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FlatForest::FromModelJson("{not json").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace mlops::gateway
