#pragma once

// Quality metrics from predictions joined to their labels: accuracy, AUC and
// log loss for classification, RMSE and MAE for regression. Pure functions;
// thread-safe; no gRPC, protobuf or Postgres.
//
// How a joined pair is read (documented in SERVICE.md):
//   * label DOUBLE, or INT64 with no predicted label -> regression: error =
//     score - label.
//   * label BOOL, or INT64 0/1 with a predicted label, or STRING "0"/"1"/
//     "true"/"false" -> binary: the score is the probability of the positive
//     class; predicted positive when score >= 0.5. AUC and log loss use the
//     score (log loss clips it to [1e-15, 1 - 1e-15]).
//   * other INT64 / STRING labels -> multiclass: correct when the label's text
//     equals the predicted label (accuracy only).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlops::monitoring {

// A label as stored.
struct LabelValue {
  enum class Kind { kInt64 = 1, kDouble = 2, kString = 3, kBool = 4 };
  Kind kind = Kind::kDouble;
  double number = 0;  // INT64, DOUBLE, BOOL (0/1)
  std::string text;   // STRING; the decimal text of INT64
};

// One logged prediction with its joined label.
struct LabelledPrediction {
  std::optional<double> score;  // unset when the prediction failed
  std::string predicted_label;
  LabelValue label;
};

enum class LabelTask { kRegression, kBinary, kMulticlass };

// How the pair is read (see the header comment); `positive` is set for kBinary.
LabelTask TaskOf(const LabelledPrediction& p, bool* positive);

struct QualityMetrics {
  int64_t labelled = 0;  // pairs with a score (failed predictions excluded)
  std::optional<double> accuracy;
  std::optional<double> auc;  // binary, both classes present
  std::optional<double> log_loss;
  std::optional<double> rmse;
  std::optional<double> mae;
};

// Metrics over `pairs`; a metric is set only when at least one pair of its
// task joined. Classification and regression pairs of one model do not mix in
// practice; when they do, each metric uses its own pairs.
QualityMetrics ComputeQuality(const std::vector<LabelledPrediction>& pairs);

// Area under the ROC curve (Mann-Whitney U, ties counted half); nullopt when
// one class is absent.
std::optional<double> AreaUnderRoc(const std::vector<double>& scores,
                                   const std::vector<bool>& positive);

}  // namespace mlops::monitoring
