// JobExecution: resuming a job after a restart or a takeover (see
// job_execution.h). The trials the previous holder finished are kept with
// their runs, metrics and artifacts; only the others run again.
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/training/job_execution.h"
#include "services/training/job_spec.h"
#include "services/training/proto_convert.h"

namespace mlops::training {
namespace {

std::optional<TrialResult> FinishedResult(v1::RunStatus status) {
  switch (status) {
    case v1::RUN_STATUS_SUCCEEDED: return TrialResult::kSucceeded;
    case v1::RUN_STATUS_FAILED: return TrialResult::kFailed;
    case v1::RUN_STATUS_STOPPED_EARLY: return TrialResult::kStoppedEarly;
    default: return std::nullopt;  // running, queued, or cancelled with its job: run again
  }
}

bool SameParams(const v1::TrialSummary& trial, const TrialParams& planned) {
  if (static_cast<std::size_t>(trial.params_size()) != planned.size()) return false;
  for (const auto& [k, v] : planned) {
    auto it = trial.params().find(k);
    if (it == trial.params().end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

void JobExecution::KeepFinishedTrials(const std::string& reason) {
  absl::StatusOr<std::vector<TrialParams>> plan = PlanTrials(job_.spec());
  std::vector<v1::TrialSummary> kept;
  for (const v1::TrialSummary& t : job_.trials()) {
    const std::optional<TrialResult> result = FinishedResult(t.status());
    const bool planned = plan.ok() && t.index() >= 0 && static_cast<std::size_t>(t.index()) < plan->size() &&
                         SameParams(t, (*plan)[static_cast<std::size_t>(t.index())]);
    if (result && planned) {
      kept.push_back(t);
      continue;
    }
    if (!t.run_id().empty() && (t.status() == v1::RUN_STATUS_RUNNING || t.status() == v1::RUN_STATUS_QUEUED)) {
      deps_.tracking->EndTrialRun(t.run_id(), RunStatus::kFailed, reason).IgnoreError();
    }
  }
  job_.clear_trials();
  for (const v1::TrialSummary& t : kept) *job_.add_trials() = t;
  finished_trials_.clear();
  // Until the best is restored, every succeeded trial is kept; one whose
  // model cannot be read back leaves and runs again.
  for (int attempt = 0; attempt <= static_cast<int>(kept.size()); ++attempt) {
    absl::Status restored = RestoreBest();
    if (restored.ok()) break;
    LogWarn("training_trial_not_resumed", {{"job", job_id_}, {"run", job_.best_run_id()}, {"status", restored.ToString()}});
    auto* trials = job_.mutable_trials();
    for (int i = 0; i < trials->size(); ++i) {
      if (trials->Get(i).run_id() == job_.best_run_id()) {
        trials->DeleteSubrange(i, 1);
        break;
      }
    }
  }
  for (const v1::TrialSummary& t : job_.trials()) finished_trials_[t.index()] = *FinishedResult(t.status());
  LogInfo("training_trials_resumed", {{"job", job_id_},
                                      {"kept", absl::StrCat(finished_trials_.size())},
                                      {"planned", plan.ok() ? absl::StrCat(plan->size()) : "?"}});
}

absl::Status JobExecution::RestoreBest() {
  job_.clear_best_run_id();
  job_.clear_best_objective_value();
  job_.clear_model_artifact();
  job_.clear_best_test_metrics();
  best_model_.clear();
  best_params_.clear();
  const Direction direction = ObjectiveDirection(job_.spec());
  const v1::TrialSummary* best = nullptr;
  for (const v1::TrialSummary& t : job_.trials()) {
    if (t.status() != v1::RUN_STATUS_SUCCEEDED) continue;
    // Ties go to the lower index, as when the trials run (they are in index order).
    if (best == nullptr || IsBetter(direction, t.objective_value(), best->objective_value())) best = &t;
  }
  if (best == nullptr) return absl::OkStatus();
  job_.set_best_run_id(best->run_id());
  std::optional<ArtifactRef> artifact;
  for (const char* path : {"model/model.json", "model/model.bin"}) {
    absl::StatusOr<ArtifactRef> found = deps_.tracking->FindArtifact("", best->run_id(), path);
    if (found.ok()) {
      artifact = *found;
      break;
    }
  }
  if (!artifact) return absl::NotFoundError(absl::StrCat("run ", best->run_id(), ": no model artifact"));
  std::string model;
  for (int chunk = 0; static_cast<int64_t>(model.size()) < artifact->size_bytes; ++chunk) {
    MLOPS_ASSIGN_OR_RETURN(std::string bytes, deps_.tracking->ReadChunk(artifact->sha256, chunk));
    if (bytes.empty()) return absl::DataLossError(absl::StrCat("artifact ", artifact->sha256, ": short read"));
    model += bytes;
  }
  job_.set_best_objective_value(best->objective_value());
  ToProto(*artifact, job_.mutable_model_artifact());
  for (const auto& [k, v] : best->test_metrics()) (*job_.mutable_best_test_metrics())[k] = v;
  best_model_ = std::move(model);
  best_params_ = TrialParams(best->params().begin(), best->params().end());
  best_index_ = best->index();
  best_is_xgboost_ = artifact->path == "model/model.json";
  return absl::OkStatus();
}

}  // namespace mlops::training
