#pragma once
// Evaluation metrics of a trained model on held-out rows, computed by our own
// plain functions (not XGBoost's), so that every trainer is judged alike.
// Pure functions; thread-safe.
//
// Binary: `scores` are positive-class probabilities, labels 0/1, threshold
// 0.5 (score >= 0.5 predicts 1). Multi-class: `probs` hold `num_class`
// probabilities per row, row after row; precision/recall/F1 are macro
// averages over the classes.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlops::training {

// The task, with the numbers of mlops.training.v1.Objective.
enum class Objective { kUnspecified = 0, kBinaryLogistic = 1, kRegSquaredError = 2, kMultiSoftprob = 3 };

// Area under the ROC curve (ties count half). NaN when a class is absent.
// Exact: the pair count (U) over positives x negatives, from a radix sort of
// the scores; with 0/1 labels equal to XGBoost's "auc" bit for bit (fewer
// than 2^26 rows).
double Auc(const std::vector<float>& labels, const std::vector<float>& scores);
// Mean negative log-likelihood; probabilities clipped to [1e-15, 1 - 1e-15].
double LogLoss(const std::vector<float>& labels, const std::vector<float>& scores);

struct BinaryCounts {
  std::size_t tp = 0, fp = 0, tn = 0, fn = 0;
};
BinaryCounts CountBinary(const std::vector<float>& labels, const std::vector<float>& scores,
                         double threshold = 0.5);
// 0 when the denominator is 0.
double Accuracy(const BinaryCounts& c);
double Precision(const BinaryCounts& c);
double Recall(const BinaryCounts& c);
double F1(const BinaryCounts& c);

double Rmse(const std::vector<float>& labels, const std::vector<float>& predictions);
double Mae(const std::vector<float>& labels, const std::vector<float>& predictions);
// 1 - SS_res / SS_tot; NaN when the labels are constant.
double R2(const std::vector<float>& labels, const std::vector<float>& predictions);

double MultiLogLoss(const std::vector<float>& labels, const std::vector<float>& probs,
                    int num_class);
// Keys "accuracy", "precision", "recall", "f1" (macro averages).
std::map<std::string, double> MultiClassMetrics(const std::vector<float>& labels,
                                                const std::vector<float>& probs, int num_class);

// Every metric of the objective ("auc", "logloss", "accuracy", "precision",
// "recall", "f1" | "rmse", "mae", "r2" | "mlogloss", "accuracy",
// "precision", "recall", "f1"), each prefixed with `prefix` ("test_").
// Non-finite values (AUC of one class, R² of constant labels) are left out.
// Empty input: an empty map.
// The per-round validation metric (logged per round; drives early stopping
// and median stopping) from the booster's transformed predictions, with
// XGBoost 1.7's own arithmetic (per-row terms in float, summed in double in
// row order, as XGBoost does with nthread=1), so the curve keeps XGBoost's
// values: "auc" (exact, see Auc), "logloss", "rmse" for binary:logistic;
// "rmse" for reg:squarederror; "mlogloss" for multi:softprob (probabilities
// row after row). NaN where XGBoost gives NaN (AUC of one class), and for a
// class label outside [0, num_class) (XGBoost fails there). std::nullopt
// when the metric is not one of these for the objective: ask XGBoost.
std::optional<double> CurveMetric(const std::string& metric, Objective objective, int num_class,
                                  const std::vector<float>& labels,
                                  const std::vector<float>& predictions);
// Whether CurveMetric computes `metric` for `objective`.
bool HasCurveMetric(const std::string& metric, Objective objective);

std::map<std::string, double> EvaluatePredictions(Objective objective, int num_class,
                                                  const std::vector<float>& labels,
                                                  const std::vector<float>& predictions,
                                                  const std::string& prefix);

}  // namespace mlops::training
