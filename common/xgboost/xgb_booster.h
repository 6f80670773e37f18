#pragma once
// An XGBoost Booster: trained round by round from XgbMatrix data, or loaded
// from a saved model (XGBoost's JSON format, the platform's one artifact format
// for the "xgboost" flavor). Owns the handle; movable, not copyable.
// Thread-safety: Predict* are safe to call from many threads at once (XGBoost's
// in-place prediction, or a DMatrix of the call's own for contributions;
// results are copied out of XGBoost's thread-local buffer before returning). Training,
// SetParam and Load are not: one thread at a time, before sharing.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/xgboost/xgb_matrix.h"

namespace mlops::xgb {

// Predictions for `rows` rows, `outputs` values each (1, or the number of
// classes for multi:softprob), row after row.
struct Prediction {
  std::vector<float> values;
  std::size_t rows = 0;
  std::size_t outputs = 1;
};

// TreeSHAP feature contributions (XGBoost's pred_contribs) in the margin
// space: for each row and output, one value per input column, then the bias;
// bias + the column values = the row's margin for that output.
struct Contributions {
  std::vector<float> values;  // rows x outputs x (cols + 1), row after row
  std::size_t rows = 0;
  std::size_t outputs = 1;
  std::size_t cols = 0;  // input columns (the bias is not counted)
  // The cols + 1 values of one row and output.
  const float* At(std::size_t row, std::size_t output) const {
    return values.data() + (row * outputs + output) * (cols + 1);
  }
};

class XgbBooster {
 public:
  using Params = std::vector<std::pair<std::string, std::string>>;

  // A booster to train on the matrices in `cache` (train first, then any
  // evaluation sets), with XGBoost parameters such as {"objective", "binary:logistic"}.
  static absl::StatusOr<XgbBooster> ForTraining(const std::vector<const XgbMatrix*>& cache,
                                                const Params& params);
  // A booster from bytes written by SaveJson (or XGBoost's own JSON/UBJ save).
  static absl::StatusOr<XgbBooster> Load(std::string_view model_bytes);

  XgbBooster(XgbBooster&&) noexcept;
  XgbBooster& operator=(XgbBooster&&) noexcept;
  XgbBooster(const XgbBooster&) = delete;
  XgbBooster& operator=(const XgbBooster&) = delete;
  ~XgbBooster();

  absl::Status SetParam(const std::string& name, const std::string& value);
  absl::Status TrainOneRound(int iteration, const XgbMatrix& train);
  // The booster's eval metrics on each named matrix after `iteration`, keyed
  // "<name>-<metric>" as XGBoost prints them (e.g. "valid-auc").
  absl::StatusOr<std::map<std::string, double>> Evaluate(
      int iteration, const std::vector<std::pair<std::string, const XgbMatrix*>>& sets);
  // A copy holding only rounds [0, rounds): early stopping keeps the best prefix.
  absl::StatusOr<XgbBooster> FirstRounds(int rounds) const;

  absl::StatusOr<std::string> SaveJson() const;
  absl::StatusOr<int> BoostedRounds() const;
  absl::StatusOr<std::size_t> NumFeatures() const;

  // Transformed predictions (probabilities for logistic objectives).
  absl::StatusOr<Prediction> PredictDense(const float* values, std::size_t rows,
                                          std::size_t cols) const;
  absl::StatusOr<Prediction> Predict(const XgbMatrix& matrix) const;
  // Untransformed predictions (the margin: log-odds for binary:logistic).
  absl::StatusOr<Prediction> PredictMarginDense(const float* values, std::size_t rows,
                                                std::size_t cols) const;
  // Per-row TreeSHAP contributions of a dense matrix (NaN = missing). Builds
  // a DMatrix per call (in-place prediction has no contributions), so it
  // costs far more than PredictDense: call it only when asked.
  absl::StatusOr<Contributions> PredictContributions(const float* values, std::size_t rows,
                                                     std::size_t cols) const;

 private:
  explicit XgbBooster(void* handle) : handle_(handle) {}
  void* handle_ = nullptr;
};

// Parses XGBoost's evaluation line "[3]\ttrain-auc:0.91\tvalid-auc:0.88".
absl::StatusOr<std::map<std::string, double>> ParseEvalLine(std::string_view line);

}  // namespace mlops::xgb
