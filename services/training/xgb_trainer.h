#pragma once
// BuiltinXgbTrainer: trains one XGBoost model (gbtree or gblinear) on the
// train rows, round by round, with early stopping on the validation rows, and
// evaluates the kept model on the validation and test rows with our own
// metric functions (eval_metrics.h). Deterministic: nthread is fixed to 1
// and the seed is passed to XGBoost, so the same data, params and seed give a
// byte-identical JSON artifact. Stateless; Train may run on many threads at
// once (each call owns its XGBoost handles).

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "services/training/eval_metrics.h"
#include "services/training/job_profile.h"
#include "services/training/training_set.h"

namespace mlops::training {

enum class BoosterKind { kGbtree, kGblinear };

inline constexpr int kDefaultBoostRounds = 100;
inline constexpr int kMaxBoostRounds = 100000;

struct TrainerConfig {
  BoosterKind booster = BoosterKind::kGbtree;
  Objective objective = Objective::kBinaryLogistic;
  int num_class = 0;               // multi:softprob only
  int early_stopping_rounds = 0;   // 0 = off
  int num_boost_round = kDefaultBoostRounds;
  int64_t seed = 0;
  // Passed to XGBoosterSetParam unchanged (no reserved keys, no
  // num_boost_round).
  std::map<std::string, std::string> params;
};

// XGBoost's names: "binary:logistic", ...; the evaluation metric its
// validation curve uses: "auc", "rmse", "mlogloss".
const char* XgbObjectiveName(Objective objective);
const char* ValidationMetricName(Objective objective);
// The trainer names of RunInputs: "xgboost_gbtree" / "xgboost_linear".
const char* TrainerName(BoosterKind booster);
// "xgboost <major>.<minor>.<patch>" of the linked library.
std::string XgboostVersion();

struct TrainOutcome {
  std::string model_json;  // the artifact
  int best_iteration = 0;  // the kept model's last round (from 0)
  int rounds_trained = 0;
  bool stopped_by_callback = false;
  // Our metrics of the kept model: "validation_auc", ..., "test_auc", ...
  std::map<std::string, double> validation_metrics;
  std::map<std::string, double> test_metrics;
  // Where the trial's time went: trial_matrix, trial_boost, trial_eval
  // (the per-round validation metric: the cached validation predictions and
  // CurveMetric, or XGBoost's evaluation for other metrics), trial_round_callback,
  // trial_serialize, trial_predict_eval.
  JobProfile profile;
};

// Called after each round with the round (from 0) and the validation metric
// of that round ("validation_auc" -> value; XGBoost's value, computed by
// CurveMetric for auc/logloss/rmse/mlogloss, by XGBoost for other
// eval_metric params). Returns false to stop (cancelled, or the median
// stopping rule).
using RoundCallback = std::function<bool(int round, const std::map<std::string, double>&)>;

class BuiltinXgbTrainer {
 public:
  // Errors: InvalidArgument for a bad config or empty train rows;
  // FailedPrecondition with XGBoost's own message when XGBoost rejects a
  // parameter ("xgboost: ..."); Internal for other XGBoost failures.
  static absl::StatusOr<TrainOutcome> Train(const TrainerConfig& config, const DenseBlock& train,
                                            const DenseBlock& validation, const DenseBlock& test,
                                            const RoundCallback& on_round);
};

}  // namespace mlops::training
