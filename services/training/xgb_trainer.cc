#include "services/training/xgb_trainer.h"

#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/xgboost/xgb_booster.h"
#include "common/xgboost/xgb_matrix.h"
#include "omp.h"
#include "xgboost/c_api.h"

namespace mlops::training {
namespace {

using xgb::XgbBooster;
using xgb::XgbMatrix;

// XGBoost's evaluation metrics where larger is better.
bool LargerIsBetter(const std::string& metric) {
  return metric == "auc" || metric == "aucpr" || metric == "map" || metric == "ndcg";
}

absl::StatusOr<XgbMatrix> ToMatrix(const DenseBlock& block) {
  MLOPS_ASSIGN_OR_RETURN(XgbMatrix m, XgbMatrix::FromDense(block.values, block.rows, block.cols));
  MLOPS_RETURN_IF_ERROR(m.SetLabels(block.labels));
  return m;
}

// XGBoost's errors while configuring or training are its verdict on our
// parameters: FailedPrecondition with its message, for the trial's record.
absl::Status XgbRejected(const absl::Status& status) {
  return absl::FailedPreconditionError(absl::StrCat("xgboost: ", status.message()));
}

XgbBooster::Params BoosterParams(const TrainerConfig& c) {
  XgbBooster::Params params = {
      {"booster", c.booster == BoosterKind::kGbtree ? "gbtree" : "gblinear"},
      {"objective", XgbObjectiveName(c.objective)},
      {"seed", absl::StrCat(c.seed)},
      {"nthread", "1"},
      {"verbosity", "0"},
  };
  if (c.objective == Objective::kMultiSoftprob) params.emplace_back("num_class", absl::StrCat(c.num_class));
  for (const auto& [k, v] : c.params) params.emplace_back(k, v);
  if (c.params.count("eval_metric") == 0) params.emplace_back("eval_metric", ValidationMetricName(c.objective));
  return params;
}

absl::StatusOr<XgbBooster> TrainRounds(const TrainerConfig& config, const XgbMatrix& train,
                                       const XgbMatrix& valid, int rounds) {
  absl::StatusOr<XgbBooster> booster = XgbBooster::ForTraining({&train, &valid}, BoosterParams(config));
  if (!booster.ok()) return XgbRejected(booster.status());
  for (int i = 0; i < rounds; ++i) {
    if (absl::Status s = booster->TrainOneRound(i, train); !s.ok()) return XgbRejected(s);
  }
  return booster;
}

absl::StatusOr<std::vector<float>> PredictBlock(const XgbBooster& booster, const DenseBlock& block) {
  if (block.rows == 0) return std::vector<float>();
  // Through a DMatrix: gblinear has no in-place prediction.
  MLOPS_ASSIGN_OR_RETURN(XgbMatrix matrix, XgbMatrix::FromDense(block.values, block.rows, block.cols));
  MLOPS_ASSIGN_OR_RETURN(xgb::Prediction p, booster.Predict(matrix));
  return std::move(p.values);
}

// One round's validation metrics: the finite ones by "validation_<metric>"
// (what the round callback gets) and the early-stopping metric's value.
struct RoundMetrics {
  std::map<std::string, double> reported;
  double value = 0;
};

absl::StatusOr<RoundMetrics> OwnRoundMetric(const TrainerConfig& config, const std::string& metric,
                                            const XgbBooster& booster, const XgbMatrix& valid,
                                            const std::vector<float>& labels) {
  absl::StatusOr<xgb::Prediction> p = booster.Predict(valid);
  if (!p.ok()) return XgbRejected(p.status());
  RoundMetrics out;
  out.value = CurveMetric(metric, config.objective, config.num_class, labels, p->values).value_or(0);
  if (std::isfinite(out.value)) out.reported["validation_" + metric] = out.value;
  return out;
}

absl::StatusOr<RoundMetrics> XgbRoundMetrics(XgbBooster& booster, int round, const XgbMatrix& valid,
                                             const std::string& metric) {
  absl::StatusOr<std::map<std::string, double>> eval = booster.Evaluate(round, {{"valid", &valid}});
  if (!eval.ok()) return XgbRejected(eval.status());
  RoundMetrics out;
  for (const auto& [k, v] : *eval) {
    if (std::isfinite(v)) out.reported["validation_" + k.substr(k.find('-') + 1)] = v;
  }
  auto it = eval->find("valid-" + metric);
  out.value = it == eval->end() ? 0 : it->second;
  return out;
}

}  // namespace

const char* XgbObjectiveName(Objective objective) {
  switch (objective) {
    case Objective::kBinaryLogistic: return "binary:logistic";
    case Objective::kRegSquaredError: return "reg:squarederror";
    case Objective::kMultiSoftprob: return "multi:softprob";
    case Objective::kUnspecified: break;
  }
  return "";
}

const char* ValidationMetricName(Objective objective) {
  switch (objective) {
    case Objective::kBinaryLogistic: return "auc";
    case Objective::kRegSquaredError: return "rmse";
    case Objective::kMultiSoftprob: return "mlogloss";
    case Objective::kUnspecified: break;
  }
  return "";
}

const char* TrainerName(BoosterKind booster) {
  return booster == BoosterKind::kGbtree ? "xgboost_gbtree" : "xgboost_linear";
}

std::string XgboostVersion() {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return absl::StrCat("xgboost ", major, ".", minor, ".", patch);
}

absl::StatusOr<TrainOutcome> BuiltinXgbTrainer::Train(const TrainerConfig& config,
                                                      const DenseBlock& train_block,
                                                      const DenseBlock& valid_block,
                                                      const DenseBlock& test_block,
                                                      const RoundCallback& on_round) {
  if (config.objective == Objective::kUnspecified) {
    return absl::InvalidArgumentError("trainer.objective: required");
  }
  if (config.objective == Objective::kMultiSoftprob && config.num_class < 2) {
    return absl::InvalidArgumentError("trainer.num_class: must be >= 2 for MULTI_SOFTPROB");
  }
  if (config.num_boost_round < 1 || config.num_boost_round > kMaxBoostRounds) {
    return absl::InvalidArgumentError("num_boost_round: must be in [1, 100000]");
  }
  if (train_block.rows == 0) return absl::InvalidArgumentError("empty training set: no train rows");
  // One OpenMP thread for everything XGBoost does from this thread (DMatrix
  // construction and metrics use the default thread count otherwise): trials
  // already run in parallel on our pool, and idle OpenMP workers spinning
  // between rounds tripled the CPU cost of a trial (training_job_benchmark).
  omp_set_num_threads(1);
  if (config.early_stopping_rounds > 0 && valid_block.rows == 0) {
    return absl::InvalidArgumentError("early stopping needs validation rows; the split has none");
  }
  TrainOutcome out;
  PhaseClock clock;
  MLOPS_ASSIGN_OR_RETURN(XgbMatrix train, ToMatrix(train_block));
  // Without validation rows the curve is taken on the train rows.
  std::optional<XgbMatrix> valid_own;
  if (valid_block.rows > 0) {
    MLOPS_ASSIGN_OR_RETURN(valid_own, ToMatrix(valid_block));
  }
  const XgbMatrix& valid = valid_own ? *valid_own : train;
  out.profile.Add("trial_matrix", clock.Lap());

  absl::StatusOr<XgbBooster> booster = XgbBooster::ForTraining({&train, &valid}, BoosterParams(config));
  if (!booster.ok()) return XgbRejected(booster.status());
  const std::string metric = config.params.count("eval_metric") ? config.params.at("eval_metric")
                                                                 : ValidationMetricName(config.objective);
  const bool larger_better = LargerIsBetter(metric);
  // The curve's metric is ours (eval_metrics.h: XGBoost's values, same
  // arithmetic) on the validation predictions from XGBoost's prediction
  // cache, which adds only the new tree each round; XGBoost's own evaluation
  // (a stable sort of row indices per round for AUC) only for a metric we do
  // not compute.
  const bool own_metric = HasCurveMetric(metric, config.objective);
  const std::vector<float>& valid_labels = valid_own ? valid_block.labels : train_block.labels;
  double best = 0;
  int since_best = 0;
  for (int round = 0; round < config.num_boost_round; ++round) {
    if (absl::Status s = booster->TrainOneRound(round, train); !s.ok()) return XgbRejected(s);
    out.rounds_trained = round + 1;
    out.profile.Add("trial_boost", clock.Lap());
    MLOPS_ASSIGN_OR_RETURN(RoundMetrics eval, own_metric ? OwnRoundMetric(config, metric, *booster, valid, valid_labels)
                                                         : XgbRoundMetrics(*booster, round, valid, metric));
    out.profile.Add("trial_eval", clock.Lap());
    const double value = eval.value;
    const std::map<std::string, double>& reported = eval.reported;
    if (round == 0 || (larger_better ? value > best : value < best)) {
      best = value;
      out.best_iteration = round;
      since_best = 0;
    } else {
      ++since_best;
    }
    const bool go_on = !on_round || on_round(round, reported);
    out.profile.Add("trial_round_callback", clock.Lap());
    if (!go_on) {
      out.stopped_by_callback = true;
      break;
    }
    if (config.early_stopping_rounds > 0 && since_best >= config.early_stopping_rounds) break;
  }
  if (config.early_stopping_rounds == 0) out.best_iteration = out.rounds_trained - 1;

  std::optional<XgbBooster> kept;
  const bool sliced = out.best_iteration + 1 < out.rounds_trained;
  if (sliced) {
    absl::StatusOr<XgbBooster> prefix = booster->FirstRounds(out.best_iteration + 1);
    if (prefix.ok()) {
      kept = std::move(*prefix);
    } else {
      // gblinear cannot be sliced: train the best prefix again (deterministic).
      MLOPS_ASSIGN_OR_RETURN(kept, TrainRounds(config, train, valid, out.best_iteration + 1));
    }
  } else {
    kept = std::move(*booster);
  }
  MLOPS_ASSIGN_OR_RETURN(out.model_json, kept->SaveJson());
  out.profile.Add("trial_serialize", clock.Lap());
  // The whole booster predicts its validation matrix from XGBoost's
  // prediction cache (filled by the per-round evaluation): no second matrix,
  // no second pass over the trees.
  std::vector<float> valid_pred;
  if (!sliced && valid_own) {
    MLOPS_ASSIGN_OR_RETURN(xgb::Prediction p, kept->Predict(*valid_own));
    valid_pred = std::move(p.values);
  } else {
    MLOPS_ASSIGN_OR_RETURN(valid_pred, PredictBlock(*kept, valid_block));
  }
  MLOPS_ASSIGN_OR_RETURN(std::vector<float> test_pred, PredictBlock(*kept, test_block));
  out.validation_metrics = EvaluatePredictions(config.objective, config.num_class,
                                               valid_block.labels, valid_pred, "validation_");
  out.test_metrics =
      EvaluatePredictions(config.objective, config.num_class, test_block.labels, test_pred, "test_");
  out.profile.Add("trial_predict_eval", clock.Lap());
  return out;
}

}  // namespace mlops::training
