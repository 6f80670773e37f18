// JobExecution: registering the best trial's model in the registry and
// asking for the stage the job requests (see job_execution.h).
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "services/training/champion_evaluation.h"
#include "services/training/job_execution.h"
#include "services/training/model_registration.h"

namespace mlops::training {

void JobExecution::EvaluateChampion(const v1::TrainingJob& job, int64_t candidate_version,
                                    const Prepared& data, const DenseBlock& test) {
  ChampionTask task;
  task.model = job.spec().register_model().model_name();
  task.candidate_version = candidate_version;
  task.evaluation_name = "test";  // as RegistrationHeader names the candidate's
  task.dataset_version = job.resolved_inputs().dataset_version_id();
  task.split_columns = data.set.feature_names;
  task.test = &test;
  task.objective = static_cast<Objective>(job.signature().objective());
  task.num_class = job.signature().num_class();
  const ChampionOutcome out = ChampionEvaluation(deps_.registrar).Run(task);
  using Kind = ChampionOutcome::Kind;
  const char* event = out.kind == Kind::kAdded || out.kind == Kind::kAlreadyPresent
                          ? "champion_evaluated"
                          : out.kind == Kind::kNoChampion ? "champion_none" : "champion_not_evaluated";
  LogInfo(event, {{"job", job.id()},
                  {"model", task.model},
                  {"champion_version", std::to_string(out.champion_version)},
                  {"detail", out.detail}});
  if (deps_.run_logs != nullptr && !job.best_run_id().empty()) {
    deps_.run_logs
        ->Append(job.best_run_id(), {RunLogLine{0, "system", absl::StrCat("champion/challenger: ", out.detail), Now()}})
        .IgnoreError();
  }
}

absl::Status JobExecution::Register(const Prepared& data, const DenseBlock& test) {
  v1::TrainingJob job;
  std::string model;
  TrialParams params;
  {
    absl::MutexLock lock(&mu_);
    job = job_;
    model = best_model_;
    params = best_params_;
  }
  v1::ModelRegistration reg;
  reg.set_model_name(job.spec().register_model().model_name());
  reg.set_requested_stage(job.spec().register_model().transition_to_stage());
  absl::Status status;
  bool xgboost = true;
  {
    absl::MutexLock lock(&mu_);
    xgboost = best_is_xgboost_;
  }
  if (!xgboost) {
    status = absl::FailedPreconditionError(
        "the registry takes XGBoost models only; the best trial's command model is not XGBoost JSON");
  } else if (deps_.registrar == nullptr) {
    status = absl::FailedPreconditionError("no registry configured: start training with --registry_addr");
  } else {
    const registry::v1::RegisterModelVersionHeader header =
        RegistrationHeader(job, params, model, data.label_type, data.entity_key_type);
    status = WithRetries("RegisterModelVersion", [&]() -> absl::Status {
      absl::StatusOr<int64_t> version = deps_.registrar->Register(header, model);
      if (version.ok()) reg.set_version(*version);
      return version.status();
    });
  }
  if (!status.ok()) reg.set_error(std::string(status.message()));
  if (status.ok() && !reg.requested_stage().empty()) {
    // The gate's champion/challenger check needs the champion measured on
    // this job's test split; whatever happens here, the gate decides.
    EvaluateChampion(job, reg.version(), data, test);
    // The gate decides; a "no" leaves the job succeeded and says why.
    absl::StatusOr<std::string> decided = deps_.registrar->RequestStage(
        reg.model_name(), reg.version(), reg.requested_stage(),
        absl::StrCat("training job ", job.id(),
                     job.cause().reason().empty() ? "" : ": " + job.cause().reason()));
    reg.set_transition_granted(decided.ok() &&
                               decided->rfind("TRANSITION_STATUS_GRANTED", 0) == 0);
    reg.set_transition_detail(decided.ok() ? *decided : std::string(decided.status().message()));
  }
  absl::MutexLock lock(&mu_);
  *job_.mutable_registration() = reg;
  return status;
}

}  // namespace mlops::training
