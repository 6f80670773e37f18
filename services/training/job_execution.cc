#include "services/training/job_execution.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/training/job_spec.h"
#include "services/training/model_registration.h"
#include "services/training/proto_convert.h"
#include "services/training/xgb_trainer.h"

namespace mlops::training {
namespace {

bool HasColumn(const DatasetInfo& info, const std::string& name, int* type) {
  for (const ColumnInfo& c : info.columns) {
    if (c.name == name) {
      if (type) *type = c.type;
      return true;
    }
  }
  return false;
}

std::string ColumnWithRole(const DatasetInfo& info, int role) {
  for (const ColumnInfo& c : info.columns) {
    if (c.role == role) return c.name;
  }
  return "";
}

void CountTrials(v1::TrainingJob* job) {
  v1::TrialCounts* c = job->mutable_trial_counts();
  c->Clear();
  for (const v1::TrialSummary& t : job->trials()) {
    switch (t.status()) {
      case v1::RUN_STATUS_QUEUED: c->set_queued(c->queued() + 1); break;
      case v1::RUN_STATUS_RUNNING: c->set_running(c->running() + 1); break;
      case v1::RUN_STATUS_SUCCEEDED: c->set_succeeded(c->succeeded() + 1); break;
      case v1::RUN_STATUS_FAILED: c->set_failed(c->failed() + 1); break;
      case v1::RUN_STATUS_CANCELLED: c->set_cancelled(c->cancelled() + 1); break;
      case v1::RUN_STATUS_STOPPED_EARLY: c->set_stopped_early(c->stopped_early() + 1); break;
      default: break;
    }
  }
}

}  // namespace

JobExecution::JobExecution(JobDeps deps, JobRunOptions options, v1::TrainingJob job,
                           std::shared_ptr<std::atomic<bool>> cancel,
                           std::shared_ptr<std::atomic<bool>> interrupt, std::function<void()> notify)
    : deps_(deps),
      options_(options),
      cancel_(std::move(cancel)),
      interrupt_(std::move(interrupt)),
      notify_(std::move(notify)),
      job_id_(job.id()),
      job_(std::move(job)) {
  options_.retry.max_retries = job_.spec().max_retries() == 0 ? 3 : job_.spec().max_retries();
}

absl::Status JobExecution::Persist(const std::vector<JobState>& from) {
  CountTrials(&job_);
  absl::Status s;
  if (options_.lease_owner.empty()) {
    s = deps_.store->UpdateJob(job_.id(), static_cast<JobState>(job_.state()), job_.SerializeAsString(), from);
  } else {
    absl::StatusOr<LeasedWrite> w = deps_.store->UpdateLeasedJob(
        job_.id(), options_.lease_owner, static_cast<JobState>(job_.state()), job_.SerializeAsString(), from);
    s = w.status();
    if (w.ok() && *w == LeasedWrite::kWrongState) s = absl::FailedPreconditionError("job moved meanwhile");
    if (w.ok() && *w == LeasedWrite::kLeaseLost) {
      LogWarn("training_job_lease_lost", {{"job", job_id_}, {"owner", options_.lease_owner}});
      interrupt_->store(true);
      s = absl::AbortedError("the job's lease was taken over");
    }
  }
  if (absl::IsFailedPrecondition(s)) cancel_->store(true);
  if (s.ok() && notify_) notify_();
  return s;
}

absl::Status JobExecution::WithRetries(const std::string& what, const std::function<absl::Status()>& fn) {
  return RetryUnavailable(
      options_.retry, fn,
      [&](int attempt, const absl::Status& status) {
        LogInfo("training_job_retry", {{"job", job_id_}, {"call", what}, {"attempt", absl::StrCat(attempt)},
                                       {"status", status.ToString()}});
      },
      [this] { return Stopping(); });
}

absl::Status JobExecution::Start() {
  absl::MutexLock lock(&mu_);
  if (job_.state() == v1::JOB_STATE_QUEUED) {
    job_.set_state(v1::JOB_STATE_RUNNING);
    job_.set_started_at_micros(Now());
    return Persist({JobState::kQueued});
  }
  // Resumed after a restart or a takeover: the trials that were running are
  // over and run again (each counted once: the old ones leave the list);
  // the finished ones are kept.
  std::string reason = "interrupted by a restart of the training service";
  if (!options_.resume_note.empty()) {
    absl::StrAppend(&reason, " or a takeover; resumed by ", options_.lease_owner, " (", options_.resume_note, ")");
  }
  KeepFinishedTrials(reason);
  return Persist({JobState::kRunning});
}

absl::StatusOr<JobExecution::Prepared> JobExecution::Prepare() {
  v1::TrainingJob job;
  {
    absl::MutexLock lock(&mu_);
    job = job_;
  }
  const v1::TrainingJobSpec& spec = job.spec();
  const v1::DataSpec& d = spec.data();
  PhaseClock clock;
  JobProfile profile;
  DatasetInfo info;
  MLOPS_RETURN_IF_ERROR(WithRetries("DescribeDataset", [&]() -> absl::Status {
    absl::StatusOr<DatasetInfo> r = deps_.data->DescribeDataset(d.dataset());
    if (r.ok()) info = std::move(*r);
    return r.status();
  }));
  std::string version = job.resolved_inputs().dataset_version_id();
  if (version.empty()) {
    MLOPS_RETURN_IF_ERROR(WithRetries("ResolveVersion", [&]() -> absl::Status {
      absl::StatusOr<std::string> r = deps_.data->ResolveVersion(d.dataset(), d.dataset_version_id());
      if (r.ok()) version = *r;
      return r.status();
    }));
  }
  Prepared out;
  if (!HasColumn(info, d.label_column(), &out.label_type)) {
    return absl::InvalidArgumentError(absl::StrCat("data.label_column \"", d.label_column(), "\": no such column"));
  }
  const std::string entity = d.entity_key_column().empty() ? ColumnWithRole(info, kRoleEntityKey) : d.entity_key_column();
  HasColumn(info, entity, &out.entity_key_type);
  const std::string ts = d.timestamp_column().empty() ? ColumnWithRole(info, kRoleEventTimestamp) : d.timestamp_column();
  std::vector<std::string> features(d.dataset_feature_columns().begin(), d.dataset_feature_columns().end());
  if (features.empty() && d.feature_refs().empty()) {
    for (const ColumnInfo& c : info.columns) {
      if (c.role == kRoleFeature && c.name != d.label_column()) features.push_back(c.name);
    }
  }
  FetchRequest req;
  req.dataset = d.dataset();
  req.version_id = version;
  req.feature_refs.assign(d.feature_refs().begin(), d.feature_refs().end());
  req.entity_key_column = d.entity_key_column();
  req.timestamp_column = d.timestamp_column();
  for (const auto& [view, v] : job.resolved_inputs().source_dataset_versions()) req.source_dataset_versions[view] = v;
  auto add = [&](const std::string& c) {
    if (!c.empty() && std::find(req.columns.begin(), req.columns.end(), c) == req.columns.end()) req.columns.push_back(c);
  };
  if (!req.feature_refs.empty()) add(entity);
  add(ts);
  add(d.label_column());
  for (const std::string& f : features) add(f);
  FetchedTable table;
  profile.Add("describe", clock.Lap());
  MLOPS_RETURN_IF_ERROR(WithRetries("Fetch", [&]() -> absl::Status {
    absl::StatusOr<FetchedTable> r = deps_.data->Fetch(req);
    if (r.ok()) table = std::move(*r);
    return r.status();
  }));
  profile.Add("fetch", clock.Lap());
  std::vector<std::string> model_inputs = features;
  for (std::size_t i = req.columns.size(); i < table.columns.size(); ++i) model_inputs.push_back(table.columns[i].name);
  if (model_inputs.empty()) return absl::InvalidArgumentError("data: no feature refs and no dataset feature columns");
  MLOPS_ASSIGN_OR_RETURN(out.set, BuildTrainingSet(table, d.label_column(), model_inputs, ts,
                                                   static_cast<Objective>(spec.trainer().objective()),
                                                   spec.trainer().num_class()));
  profile.Add("build_set", clock.Lap());
  absl::MutexLock lock(&mu_);
  profile_.Merge(profile);
  v1::RunInputs* in = job_.mutable_resolved_inputs();
  in->set_dataset(d.dataset());
  in->set_dataset_version_id(table.dataset_version_id.empty() ? version : table.dataset_version_id);
  in->clear_feature_refs();
  for (const std::string& r : table.resolved_feature_refs) in->add_feature_refs(r);
  in->clear_feature_view_versions();
  for (const std::string& v : table.feature_view_versions) in->add_feature_view_versions(v);
  for (const auto& [view, v] : table.source_dataset_versions) (*in->mutable_source_dataset_versions())[view] = v;
  in->clear_dataset_feature_columns();
  for (const std::string& f : features) in->add_dataset_feature_columns(f);
  in->set_label_column(d.label_column());
  if (spec.trainer().kind() == v1::TRAINER_KIND_COMMAND) {
    const v1::CommandTrainer& c = spec.trainer().command();
    const bool k8s = deps_.command && deps_.command->executor && deps_.command->executor->name() == "kubernetes";
    in->set_trainer("command");
    in->set_trainer_version(k8s || c.argv().empty() ? c.image() : c.argv(0));
  } else {
    in->set_trainer(TrainerName(spec.trainer().kind() == v1::TRAINER_KIND_XGBOOST_LINEAR ? BoosterKind::kGblinear
                                                                                        : BoosterKind::kGbtree));
    in->set_trainer_version(XgboostVersion());
  }
  in->set_code_version(spec.code_version());
  in->set_seed(spec.seed());
  *in->mutable_split() = spec.split();
  v1::ModelSignature* sig = job_.mutable_signature();
  sig->Clear();
  for (std::size_t i = 0; i < model_inputs.size(); ++i) {
    v1::ModelInput* mi = sig->add_inputs();
    mi->set_name(model_inputs[i]);
    mi->set_type(static_cast<common::v1::DataType>(out.set.feature_types[i]));
    if (i >= features.size() && i - features.size() < table.resolved_feature_refs.size()) {
      mi->set_feature_ref(table.resolved_feature_refs[i - features.size()]);
    }
  }
  sig->set_objective(spec.trainer().objective());
  sig->set_num_class(spec.trainer().num_class());
  sig->set_label_column(d.label_column());
  if (!req.feature_refs.empty()) sig->set_entity_key_column(entity);
  *job_.mutable_lineage() = JobLineage(job_);
  MLOPS_RETURN_IF_ERROR(Persist({JobState::kRunning}));
  return out;
}

void JobExecution::UpdateTrial(const v1::TrialSummary& trial) {
  absl::MutexLock lock(&mu_);
  bool found = false;
  for (v1::TrialSummary& t : *job_.mutable_trials()) {
    if (t.index() == trial.index()) {
      t = trial;
      found = true;
    }
  }
  if (!found) {
    *job_.add_trials() = trial;
    std::sort(job_.mutable_trials()->begin(), job_.mutable_trials()->end(),
              [](const v1::TrialSummary& a, const v1::TrialSummary& b) { return a.index() < b.index(); });
  }
  if (job_.state() == v1::JOB_STATE_RUNNING) Persist({JobState::kRunning}).IgnoreError();
}

TrialResult JobExecution::EndTrial(v1::TrialSummary* trial, RunStatus status, const std::string& reason,
                                   std::chrono::steady_clock::time_point started) {
  if (!trial->run_id().empty()) {
    absl::StatusOr<training::Run> run = deps_.tracking->EndTrialRun(trial->run_id(), status, reason);
    // A CancelRun may have ended it first: its status wins (and was counted).
    if (run.ok() && run->status != status) {
      status = run->status;
    } else if (deps_.metrics) {
      deps_.metrics->CountRun(status);
    }
  }
  trial->set_status(static_cast<v1::RunStatus>(status));
  trial->set_failure_reason(reason.substr(0, kMaxReasonBytes));
  trial->set_finished_at_micros(Now());
  UpdateTrial(*trial);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (deps_.metrics) deps_.metrics->ObserveTrial(status, seconds);
  switch (status) {
    case RunStatus::kSucceeded: return TrialResult::kSucceeded;
    case RunStatus::kCancelled: return TrialResult::kCancelled;
    case RunStatus::kStoppedEarly: return TrialResult::kStoppedEarly;
    default: return TrialResult::kFailed;
  }
}

TrialResult JobExecution::RunTrial(int index, const TrialParams& params, const Blocks& blocks,
                                   MedianStopper* stopper) {
  const auto started = std::chrono::steady_clock::now();
  JobProfile profile;
  PhaseClock clock;
  v1::TrainingJob job;
  {
    absl::MutexLock lock(&mu_);
    job = job_;
  }
  const v1::TrainingJobSpec& spec = job.spec();
  v1::TrialSummary trial;
  trial.set_index(index);
  for (const auto& [k, v] : params) (*trial.mutable_params())[k] = v;
  trial.set_status(v1::RUN_STATUS_RUNNING);
  trial.set_started_at_micros(Now());

  StartRunInput in;
  in.experiment = spec.experiment();
  in.name = absl::StrCat(spec.name().empty() ? job.id() : spec.name(), "-", index);
  in.params = params;
  in.tags = std::map<std::string, std::string>(spec.tags().begin(), spec.tags().end());
  in.tags["mlops.job_id"] = job.id();
  in.tags["mlops.cause"] = DescribeCause(job.cause()).substr(0, kMaxTagValueBytes);
  in.inputs = FromProto(job.resolved_inputs());
  training::Run run;
  absl::Status started_run = WithRetries("StartTrialRun", [&]() -> absl::Status {
    absl::StatusOr<training::Run> r = deps_.tracking->StartTrialRun(in, job.principal(), job.id(), index);
    if (r.ok()) run = std::move(*r);
    return r.status();
  });
  if (!started_run.ok()) {
    return EndTrial(&trial, RunStatus::kFailed, std::string(started_run.message()), started);
  }
  trial.set_run_id(run.id);
  if (deps_.metrics) deps_.metrics->CountRun(RunStatus::kRunning);
  UpdateTrial(trial);
  profile.Add("trial_start_run", clock.Lap());

  const std::string objective = ObjectiveMetric(spec);
  const Direction direction = ObjectiveDirection(spec);
  std::vector<double> curve;
  double best_so_far = 0;
  bool stopped_early = false;
  int stopped_at = 0;
  absl::StatusOr<TrialModel> model;
  if (spec.trainer().kind() == v1::TRAINER_KIND_COMMAND) {
    model = RunCommandTrial(job, run.id, params, blocks);
  } else {
    absl::StatusOr<TrainerConfig> config = TrialConfig(spec, params);
    if (!config.ok()) return EndTrial(&trial, RunStatus::kFailed, std::string(config.status().message()), started);
    absl::StatusOr<TrainOutcome> trained = BuiltinXgbTrainer::Train(
      *config, blocks.train, blocks.validation, blocks.test,
      [&](int round, const std::map<std::string, double>& reported) {
        std::vector<MetricPoint> points;
        for (const auto& [k, v] : reported) points.push_back({k, v, round, 0});
        deps_.tracking->LogMetrics(run.id, round, points).IgnoreError();
        if (Stopping()) return false;
        auto it = reported.find(objective);
        if (stopper == nullptr || it == reported.end()) return true;
        if (curve.empty() || IsBetter(direction, it->second, best_so_far)) best_so_far = it->second;
        curve.push_back(it->second);
        if (stopper->ShouldStop(round, best_so_far)) {
          stopped_early = true;
          stopped_at = round;
          return false;
        }
        return true;
      });
    if (trained.ok()) {
      TrialModel built;
      built.outcome = std::move(*trained);
      model = std::move(built);
    } else {
      model = trained.status();
    }
  }
  if (cancel_->load()) return EndTrial(&trial, RunStatus::kCancelled, "job cancelled", started);
  if (interrupt_->load()) return TrialResult::kCancelled;  // the run is ended when the job resumes
  if (!model.ok()) return EndTrial(&trial, RunStatus::kFailed, std::string(model.status().message()), started);
  const TrainOutcome* out = &model->outcome;
  profile.Merge(out->profile);
  clock.Lap();
  if (stopped_early) {
    return EndTrial(&trial, RunStatus::kStoppedEarly,
                    absl::StrCat("median stopping rule at round ", stopped_at), started);
  }
  std::vector<MetricPoint> final_points;
  for (const auto* m : {&out->validation_metrics, &out->test_metrics}) {
    for (const auto& [k, v] : *m) final_points.push_back({k, v, out->rounds_trained, 0});
  }
  deps_.tracking->LogMetrics(run.id, kMaxBoostRounds, final_points).IgnoreError();
  profile.Add("trial_final_metrics", clock.Lap());
  absl::StatusOr<ArtifactRef> artifact = deps_.tracking->PutArtifact(run.id, model->path, model->content_type, out->model_json);
  profile.Add("trial_artifact", clock.Lap());
  if (!artifact.ok()) {
    return EndTrial(&trial, RunStatus::kFailed,
                    absl::StrCat("storing the model: ", artifact.status().message()), started);
  }
  std::optional<double> value;
  if (auto it = out->validation_metrics.find(objective); it != out->validation_metrics.end()) value = it->second;
  if (auto it = out->test_metrics.find(objective); !value && it != out->test_metrics.end()) value = it->second;
  if (auto it = model->logged.find(objective); !value && it != model->logged.end()) value = it->second;
  if (!value) {
    return EndTrial(&trial, RunStatus::kFailed,
                    absl::StrCat("objective metric \"", objective, "\" was not reported by the trial"), started);
  }
  trial.set_objective_value(*value);
  trial.set_best_iteration(out->best_iteration);
  for (const auto& [k, v] : out->test_metrics) (*trial.mutable_test_metrics())[k] = v;
  if (stopper) stopper->AddCompleted(curve);
  {
    absl::MutexLock lock(&mu_);
    if (!job_.has_best_objective_value() || IsBetter(direction, *value, job_.best_objective_value()) ||
        (*value == job_.best_objective_value() && index < best_index_)) {
      job_.set_best_run_id(run.id);
      job_.set_best_objective_value(*value);
      ToProto(*artifact, job_.mutable_model_artifact());
      job_.clear_best_test_metrics();
      for (const auto& [k, v] : out->test_metrics) (*job_.mutable_best_test_metrics())[k] = v;
      best_model_ = out->model_json;
      best_params_ = params;
      best_index_ = index;
      best_is_xgboost_ = model->xgboost;
    }
  }
  const TrialResult result = EndTrial(&trial, RunStatus::kSucceeded, "", started);
  profile.Add("trial_end", clock.Lap());
  absl::MutexLock lock(&mu_);
  profile_.Merge(profile);
  return result;
}

void JobExecution::Finish(v1::JobState state, const std::string& reason) {
  absl::MutexLock lock(&mu_);
  if (state != v1::JOB_STATE_CANCELLED && !cancel_->load()) {
    job_.set_state(state);
    job_.set_failure_reason(reason.substr(0, kMaxReasonBytes));
    job_.set_finished_at_micros(Now());
    // FailedPrecondition: CancelJob came first (Persist set the flag).
    if (!absl::IsFailedPrecondition(Persist({JobState::kRunning}))) return;
  }
  // CancelJob wrote the state, reason and time; keep them, add our trials.
  absl::StatusOr<JobRow> stored = deps_.store->GetJob(job_.id());
  v1::TrainingJob cancelled;
  if (stored.ok() && cancelled.ParseFromString(stored->payload)) {
    job_.set_failure_reason(cancelled.failure_reason());
    job_.set_finished_at_micros(cancelled.finished_at_micros());
  }
  job_.set_state(v1::JOB_STATE_CANCELLED);
  Persist({JobState::kCancelled}).IgnoreError();
}

void JobExecution::Run() {
  if (!Start().ok()) return;
  // The profile is logged however the job ends.
  struct LogProfile {
    JobExecution* self;
    ~LogProfile() {
      absl::MutexLock lock(&self->mu_);
      LogInfo("training_job_profile", {{"job", self->job_id_}, {"phases", self->profile_.ToString()}});
    }
  } log_profile{this};
  absl::StatusOr<Prepared> data = Prepare();
  if (interrupt_->load() && !cancel_->load()) return;  // resumed by the next claim
  if (cancel_->load()) return Finish(v1::JOB_STATE_CANCELLED, "");
  if (!data.ok()) return Finish(v1::JOB_STATE_FAILED, std::string(data.status().message()));
  v1::TrainingJobSpec spec;
  {
    absl::MutexLock lock(&mu_);
    spec = job_.spec();
  }
  PhaseClock clock;
  absl::StatusOr<SplitIndices> split = SplitRows(data->set, ToSplitOptions(spec));
  if (!split.ok()) return Finish(v1::JOB_STATE_FAILED, std::string(split.status().message()));
  const Blocks blocks{TakeRows(data->set, split->train), TakeRows(data->set, split->validation),
                      TakeRows(data->set, split->test)};
  {
    absl::MutexLock lock(&mu_);
    profile_.Add("split_blocks", clock.Lap());
    job_.set_train_rows(static_cast<int64_t>(blocks.train.rows));
    job_.set_validation_rows(static_cast<int64_t>(blocks.validation.rows));
    job_.set_test_rows(static_cast<int64_t>(blocks.test.rows));
    Persist({JobState::kRunning}).IgnoreError();
  }
  absl::StatusOr<std::vector<TrialParams>> trials = PlanTrials(spec);
  if (!trials.ok()) return Finish(v1::JOB_STATE_FAILED, std::string(trials.status().message()));
  std::unique_ptr<MedianStopper> stopper;
  if (spec.search().median_stopping().enabled()) {
    stopper = std::make_unique<MedianStopper>(ObjectiveDirection(spec),
                                              spec.search().median_stopping().min_completed_trials(),
                                              spec.search().median_stopping().min_step());
  }
  const int parallelism = std::max(1, std::min(spec.search().parallelism(), options_.max_parallel_trials));
  std::optional<int> max_failed;
  if (spec.search().has_max_failed_trials()) max_failed = spec.search().max_failed_trials();
  const ExecutorSummary summary = RunTrials(
      static_cast<int>(trials->size()), parallelism, max_failed, [this] { return Stopping(); },
      [&](int i) {
        auto done = finished_trials_.find(i);
        if (done != finished_trials_.end()) return done->second;  // finished before a takeover
        return RunTrial(i, (*trials)[static_cast<std::size_t>(i)], blocks, stopper.get());
      });
  if (interrupt_->load() && !cancel_->load()) return;
  if (cancel_->load()) return Finish(v1::JOB_STATE_CANCELLED, "");
  std::string last_failure;
  bool have_best = false;
  {
    absl::MutexLock lock(&mu_);
    have_best = !job_.best_run_id().empty();
    for (const v1::TrialSummary& t : job_.trials()) {
      if (t.status() == v1::RUN_STATUS_FAILED) last_failure = t.failure_reason();
    }
  }
  if (summary.stopped_for_failures) {
    return Finish(v1::JOB_STATE_FAILED, absl::StrCat(summary.failed, " trials failed, more than max_failed_trials ",
                                                     *max_failed, "; last: ", last_failure));
  }
  if (!have_best) return Finish(v1::JOB_STATE_FAILED, absl::StrCat("no trial succeeded; last failure: ", last_failure));
  if (spec.has_register_model()) {
    clock.Lap();
    absl::Status reg = Register(*data, blocks.test);
    {
      absl::MutexLock lock(&mu_);
      profile_.Add("register", clock.Lap());
    }
    if (cancel_->load()) return Finish(v1::JOB_STATE_CANCELLED, "");
    if (!reg.ok()) return Finish(v1::JOB_STATE_FAILED, absl::StrCat("registration failed: ", reg.message()));
  }
  Finish(v1::JOB_STATE_SUCCEEDED, "");
}

}  // namespace mlops::training
