#pragma once
// ChampionEvaluation: before a training job asks for a stage, evaluates the
// model's current PRODUCTION version (the champion) on the job's own test
// split with the same metric code as the candidate's test evaluation, and
// appends that evaluation to the champion in the registry (same evaluation
// name and dataset version), so that the gate's champion/challenger check
// compares both on the same rows. Holds only a borrowed registrar;
// thread-compatible (one job calls Run once). The matrix mapping and the
// scoring are pure functions, tested on their own.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/training/eval_metrics.h"
#include "services/training/training_data.h"
#include "services/training/training_set.h"

namespace mlops::training {

// The champion's input matrix: for each of `champion_inputs` (in the
// champion's signature order) the column of `test` with that name in
// `split_columns`; labels copied. FailedPrecondition naming the first
// input the split does not have.
absl::StatusOr<DenseBlock> ChampionInputs(const std::vector<std::string>& split_columns,
                                          const DenseBlock& test,
                                          const std::vector<std::string>& champion_inputs);

// Loads an XGBoost JSON model and computes on `block` every metric of the
// objective, named as in the candidate's registered evaluation ("auc",
// "logloss", ...: EvaluatePredictions without a prefix).
absl::StatusOr<std::map<std::string, double>> ScoreModel(const std::string& model_json,
                                                         Objective objective, int num_class,
                                                         const DenseBlock& block);

// What one champion evaluation needs from the job.
struct ChampionTask {
  std::string model;             // registered model name
  int64_t candidate_version = 0;
  std::string evaluation_name;   // the candidate's ("test")
  std::string dataset_version;   // the candidate's evaluation's dataset version
  std::vector<std::string> split_columns;  // the job's feature names, test column order
  const DenseBlock* test = nullptr;
  Objective objective = Objective::kUnspecified;
  int num_class = 0;
};

// What happened, for the log and the job (never fails the candidate).
struct ChampionOutcome {
  enum class Kind { kNoChampion, kAdded, kAlreadyPresent, kSkipped, kFailed };
  Kind kind = Kind::kFailed;
  int64_t champion_version = 0;
  std::map<std::string, double> metrics;
  std::string detail;  // one human-readable line
};

class ChampionEvaluation {
 public:
  explicit ChampionEvaluation(ModelRegistrar* registrar) : registrar_(registrar) {}
  ChampionOutcome Run(const ChampionTask& task);

 private:
  ModelRegistrar* registrar_;
};

}  // namespace mlops::training
