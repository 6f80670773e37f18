// JobExecution's command-trainer trial: the training set handed to the
// program through CommandTrial, its output lines streamed to the run's log
// (RunLogWriter) while it runs and kept as run artifacts, its model
// (and our evaluation of it when it is XGBoost JSON) returned to RunTrial.
#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "services/training/job_execution.h"
#include "services/training/run_log_writer.h"

namespace mlops::training {

absl::StatusOr<JobExecution::TrialModel> JobExecution::RunCommandTrial(const v1::TrainingJob& job,
                                                                       const std::string& run_id,
                                                                       const TrialParams& params,
                                                                       const Blocks& blocks) {
  if (deps_.command == nullptr) {
    return absl::FailedPreconditionError("command trainers are not enabled on this server");
  }
  CommandTrialInput in;
  in.run_id = run_id;
  in.job_id = job.id();
  in.spec = &job.spec();
  in.params = params;
  in.label_column = job.resolved_inputs().label_column();
  for (const v1::ModelInput& input : job.signature().inputs()) in.features.push_back(input.name());
  in.train = &blocks.train;
  in.validation = &blocks.validation;
  in.test = &blocks.test;
  // Stops for CancelJob and drain at once, and for a CancelRun of this
  // trial's run within about a second.
  std::unique_ptr<RunLogWriter> lines;
  CommandLineFn on_line;
  if (deps_.run_logs != nullptr) {
    lines = std::make_unique<RunLogWriter>(deps_.run_logs, run_id, [this] { return Now(); }, notify_);
    on_line = [&lines](const std::string& stream, const std::string& text) { lines->Add(stream, text); };
  }
  auto last_check = std::chrono::steady_clock::now();
  auto should_stop = [&] {
    if (lines) lines->FlushIfDue();
    if (Stopping()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_check < std::chrono::seconds(1)) return false;
    last_check = now;
    absl::StatusOr<training::Run> current = deps_.tracking->GetRun(run_id);
    return current.ok() && current->status != RunStatus::kRunning;
  };
  absl::StatusOr<CommandTrialResult> r = CommandTrial::Run(*deps_.command, in, should_stop, on_line);
  if (!r.ok()) return r.status();
  if (lines) {
    for (const std::string& note : r->notes) lines->Add("system", note);
    lines->Flush();  // before the run ends: a watcher sees every line before the final status
  }
  // The program's output is kept whatever happened (the run is still RUNNING).
  for (const auto& [path, text] : {std::pair<const char*, const std::string*>{"logs/stdout.txt", &r->stdout_text},
                                   {"logs/stderr.txt", &r->stderr_text}}) {
    absl::Status stored = deps_.tracking->PutArtifact(run_id, path, "text/plain", *text).status();
    if (!stored.ok()) {
      LogWarn("command_log_not_stored", {{"run", run_id}, {"path", path}, {"status", stored.ToString()}});
    }
  }
  for (const std::string& note : r->notes) {
    LogInfo("command_trial_note", {{"job", job.id()}, {"run", run_id}, {"note", note}});
  }
  if (!r->failure.empty()) {
    if (r->stopped) return absl::CancelledError(r->failure);
    return absl::FailedPreconditionError(r->failure);
  }
  TrialModel model;
  model.xgboost = r->xgboost_json;
  if (!model.xgboost) {
    model.path = "model/model.bin";
    model.content_type = "application/octet-stream";
  }
  model.outcome.model_json = std::move(r->model);
  model.outcome.validation_metrics = std::move(r->validation_metrics);
  model.outcome.test_metrics = std::move(r->test_metrics);
  // The metrics the program logged through the tracking RPCs (latest values).
  absl::StatusOr<training::Run> run = deps_.tracking->GetRun(run_id);
  if (run.ok()) {
    for (const MetricSummary& m : run->metrics) model.logged[m.key] = m.value;
  }
  return model;
}

}  // namespace mlops::training
