#pragma once
// FlatForest: the trees of an XGBoost gbtree model copied into one flat node
// array and evaluated without calling XGBoost. It repeats XGBoost 1.7's CPU
// predictor operation for operation, in float: the margin starts at the base
// score (as a margin), each tree's leaf is added in tree order, a NaN input
// takes the node's default branch, otherwise `value < split` goes left; then
// the objective's transform (identity, sigmoid 1/(1+expf(-x)), or softmax
// with a double sum). So its outputs are XGBoost's, bit for bit, on the models
// it accepts (tested on random inputs with NaNs; XgbModelLoader also checks a
// sample of rows against XGBoost before using it). Refused (Unimplemented):
// dart or gblinear boosters, categorical splits, vector leaves, objectives
// other than reg:squarederror, reg:logistic, binary:logistic, binary:logitraw,
// multi:softprob. Immutable after FromModelJson; thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/xgboost/xgb_booster.h"

namespace mlops::gateway {

class FlatForest {
 public:
  // From XGBoost's JSON model (XgbBooster::SaveJson).
  static absl::StatusOr<FlatForest> FromModelJson(const std::string& json);

  // Transformed predictions of `rows` rows of `cols` floats (NaN = missing),
  // shaped as XgbBooster::PredictDense: one value per row, or one per class.
  // InvalidArgument when `cols` differs from the model's feature count.
  absl::StatusOr<xgb::Prediction> Predict(const float* values, std::size_t rows,
                                          std::size_t cols) const;

  std::size_t num_features() const { return num_features_; }
  std::size_t num_trees() const { return roots_.size(); }

 private:
  enum class Transform { kIdentity, kSigmoid, kSoftmax };
  struct Node {
    float value;        // split threshold, or the leaf's value
    int32_t feature;    // -1: leaf
    int32_t left;       // absolute indexes into nodes_
    int32_t right;
    int32_t missing;    // the default child (left or right)
  };
  void PredictRow(const float* x, float* out) const;

  std::vector<Node> nodes_;
  std::vector<int32_t> roots_;   // per tree
  std::vector<int32_t> groups_;  // per tree: the output it adds to
  std::size_t num_features_ = 0;
  std::size_t num_outputs_ = 1;
  float base_margin_ = 0;
  Transform transform_ = Transform::kIdentity;
};

}  // namespace mlops::gateway
