#include "services/training/champion_evaluation.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/xgboost/xgb_booster.h"
#include "common/xgboost/xgb_matrix.h"
#include "mlops/registry/v1/registry.pb.h"
#include "services/training/xgb_trainer.h"

namespace mlops::training {

namespace rv1 = ::mlops::registry::v1;

absl::StatusOr<DenseBlock> ChampionInputs(const std::vector<std::string>& split_columns,
                                          const DenseBlock& test,
                                          const std::vector<std::string>& champion_inputs) {
  if (split_columns.size() != test.cols) {
    return absl::InternalError(absl::StrCat("test split has ", test.cols, " columns but ",
                                            split_columns.size(), " names"));
  }
  std::vector<std::size_t> source;
  for (const std::string& name : champion_inputs) {
    std::size_t i = 0;
    while (i < split_columns.size() && split_columns[i] != name) ++i;
    if (i == split_columns.size()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the champion's input \"", name, "\" is not a column of the job's test split"));
    }
    source.push_back(i);
  }
  DenseBlock out;
  out.rows = test.rows;
  out.cols = source.size();
  out.labels = test.labels;
  out.values.reserve(out.rows * out.cols);
  for (std::size_t r = 0; r < test.rows; ++r) {
    for (std::size_t c : source) out.values.push_back(test.values[r * test.cols + c]);
  }
  return out;
}

absl::StatusOr<std::map<std::string, double>> ScoreModel(const std::string& model_json,
                                                         Objective objective, int num_class,
                                                         const DenseBlock& block) {
  if (block.rows == 0) return absl::FailedPreconditionError("the test split has no rows");
  MLOPS_ASSIGN_OR_RETURN(xgb::XgbBooster booster, xgb::XgbBooster::Load(model_json));
  MLOPS_ASSIGN_OR_RETURN(std::size_t features, booster.NumFeatures());
  if (features != block.cols) {
    return absl::FailedPreconditionError(absl::StrCat("the model takes ", features,
                                                      " features, its signature names ", block.cols));
  }
  // Through a DMatrix, as the candidate's test predictions (gblinear has no
  // in-place prediction).
  MLOPS_ASSIGN_OR_RETURN(xgb::XgbMatrix matrix,
                         xgb::XgbMatrix::FromDense(block.values, block.rows, block.cols));
  MLOPS_ASSIGN_OR_RETURN(xgb::Prediction p, booster.Predict(matrix));
  std::map<std::string, double> metrics =
      EvaluatePredictions(objective, num_class, block.labels, p.values, "");
  if (metrics.empty()) return absl::FailedPreconditionError("no finite metric on the test split");
  return metrics;
}

namespace {

ChampionOutcome Outcome(ChampionOutcome::Kind kind, int64_t version, std::string detail) {
  ChampionOutcome o;
  o.kind = kind;
  o.champion_version = version;
  o.detail = std::move(detail);
  return o;
}

}  // namespace

ChampionOutcome ChampionEvaluation::Run(const ChampionTask& task) {
  using Kind = ChampionOutcome::Kind;
  absl::StatusOr<rv1::ModelVersion> champion = registrar_->GetProductionVersion(task.model);
  if (absl::IsNotFound(champion.status())) {
    return Outcome(Kind::kNoChampion, 0, absl::StrCat(task.model, " has no production version"));
  }
  if (!champion.ok()) {
    return Outcome(Kind::kFailed, 0, absl::StrCat("reading the production version of ", task.model,
                                                  ": ", champion.status().ToString()));
  }
  const int64_t v = champion->version();
  const std::string name = absl::StrCat(task.model, "@", v);
  if (v == task.candidate_version) {
    return Outcome(Kind::kSkipped, v, absl::StrCat(name, " is the candidate itself"));
  }
  const std::string objective = XgbObjectiveName(task.objective);
  if (!champion->signature().output().objective().empty() &&
      champion->signature().output().objective() != objective) {
    return Outcome(Kind::kSkipped, v,
                   absl::StrCat("champion ", name, " has objective ",
                                champion->signature().output().objective(), ", the job ", objective,
                                ": not evaluated"));
  }
  std::vector<std::string> inputs;
  for (const rv1::SignatureInput& in : champion->signature().inputs()) inputs.push_back(in.name());
  if (task.test == nullptr) return Outcome(Kind::kFailed, v, "no test split");
  absl::StatusOr<DenseBlock> block = ChampionInputs(task.split_columns, *task.test, inputs);
  if (!block.ok()) {
    return Outcome(Kind::kSkipped, v, absl::StrCat("champion ", name, " not evaluated: ",
                                                   block.status().message()));
  }
  absl::StatusOr<std::string> artifact =
      registrar_->GetArtifact(task.model, v, champion->artifact().sha256());
  if (!artifact.ok()) {
    return Outcome(Kind::kFailed, v, absl::StrCat("reading the artifact of champion ", name, ": ",
                                                  artifact.status().ToString()));
  }
  absl::StatusOr<std::map<std::string, double>> metrics =
      ScoreModel(*artifact, task.objective, task.num_class, *block);
  if (!metrics.ok()) {
    return Outcome(Kind::kFailed, v, absl::StrCat("scoring champion ", name, ": ",
                                                  metrics.status().ToString()));
  }
  rv1::Evaluation eval;
  eval.set_name(task.evaluation_name);
  eval.set_dataset_version(task.dataset_version);
  for (const auto& [k, value] : *metrics) (*eval.mutable_metrics())[k] = value;
  eval.set_row_count(static_cast<int64_t>(block->rows));
  const absl::Status added = registrar_->AddEvaluation(task.model, v, eval);
  ChampionOutcome out;
  out.champion_version = v;
  out.metrics = *metrics;
  const auto auc = metrics->find("auc");
  const std::string summary =
      absl::StrCat("champion ", name, " evaluated on ", block->rows, " test rows of dataset version ",
                   task.dataset_version.substr(0, 12),
                   auc == metrics->end() ? "" : absl::StrCat(": auc ", auc->second));
  if (added.ok()) {
    out.kind = Kind::kAdded;
    out.detail = summary;
  } else if (absl::IsAlreadyExists(added)) {
    out.kind = Kind::kAlreadyPresent;
    out.detail = absl::StrCat(summary, " (the evaluation was already there)");
  } else {
    out.kind = Kind::kFailed;
    out.detail = absl::StrCat(summary, "; AddEvaluation failed: ", added.ToString());
  }
  return out;
}

}  // namespace mlops::training
