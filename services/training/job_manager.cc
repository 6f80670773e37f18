#include "services/training/job_manager.h"

#include <algorithm>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/training/job_spec.h"
#include "services/training/tracking.h"

namespace mlops::training {
namespace {

std::string NewJobId() {
  std::random_device rd;
  const uint64_t hi = (static_cast<uint64_t>(rd()) << 32) | rd();
  return absl::StrFormat("job-%016x", hi);
}

absl::StatusOr<v1::TrainingJob> Parse(const JobRow& row) {
  v1::TrainingJob job;
  if (!job.ParseFromString(row.payload)) return absl::InternalError(absl::StrCat("job ", row.id, ": bad payload"));
  return job;
}

// Page tokens: "<created_at>:<job id>" of the last job, base64.
std::string EncodeJobToken(const JobRow& last) {
  return absl::WebSafeBase64Escape(absl::StrCat(last.created_at_micros, ":", last.id));
}

absl::StatusOr<std::pair<int64_t, std::string>> DecodeJobToken(const std::string& token) {
  std::string raw;
  int64_t at = 0;
  const std::size_t colon = absl::WebSafeBase64Unescape(token, &raw) ? raw.find(':') : std::string::npos;
  if (colon == std::string::npos || !absl::SimpleAtoi(raw.substr(0, colon), &at) ||
      !ValidateJobId(raw.substr(colon + 1)).ok()) {
    return absl::InvalidArgumentError("page.page_token: malformed");
  }
  return std::make_pair(at, raw.substr(colon + 1));
}

}  // namespace

JobManager::JobManager(JobDeps deps, JobManagerOptions options) : deps_(deps), options_(options) {}

JobManager::~JobManager() { Stop(); }

absl::Status JobManager::Start() {
  MLOPS_ASSIGN_OR_RETURN(std::vector<JobRow> unfinished,
                         deps_.store->JobsInStates({JobState::kQueued, JobState::kRunning}));
  {
    absl::MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("JobManager already started");
    started_ = true;
    for (const JobRow& row : unfinished) {
      // Jobs submitted before Start() are queued already.
      if (std::find(queue_.begin(), queue_.end(), row.id) == queue_.end()) queue_.push_back(row.id);
    }
  }
  if (!unfinished.empty()) LogInfo("training_jobs_requeued", {{"count", absl::StrCat(unfinished.size())}});
  for (int i = 0; i < std::max(1, options_.max_concurrent_jobs); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  RefreshGauges();
  return absl::OkStatus();
}

void JobManager::Stop() {
  draining_.store(true);
  Notify();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void JobManager::Notify() {
  absl::MutexLock lock(&mu_);
  ++changes_;
}

uint64_t JobManager::change_count() const {
  absl::MutexLock lock(&mu_);
  return changes_;
}

uint64_t JobManager::WaitForChange(uint64_t seen, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto changed = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return changes_ > seen || draining_.load(); };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  return changes_;
}

void JobManager::RefreshGauges() {
  if (deps_.metrics == nullptr) return;
  absl::StatusOr<std::map<JobState, int64_t>> counts = deps_.store->CountJobsByState();
  if (counts.ok()) deps_.metrics->SetJobCounts(*counts);
  absl::MutexLock lock(&mu_);
  deps_.metrics->SetQueueDepth(queue_.size());
}

void JobManager::Enqueue(const std::string& job_id) {
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(job_id);
    ++changes_;
  }
  RefreshGauges();
}

void JobManager::WorkerLoop() {
  while (true) {
    std::string id;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !queue_.empty() || draining_.load(); };
      mu_.Await(absl::Condition(&ready));
      if (draining_.load()) return;
      id = queue_.front();
      queue_.pop_front();
    }
    RefreshGauges();
    RunOne(id);
    RefreshGauges();
  }
}

void JobManager::RunOne(const std::string& job_id) {
  absl::StatusOr<JobRow> row = deps_.store->GetJob(job_id);
  if (!row.ok() || IsTerminal(row->state)) return;
  absl::StatusOr<v1::TrainingJob> job = Parse(*row);
  if (!job.ok()) return;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  {
    absl::MutexLock lock(&mu_);
    if (running_.count(job_id)) return;  // already run by another worker: never twice
    running_[job_id] = cancel;
  }
  LogInfo("training_job_start", {{"job", job_id}, {"resumed", row->state == JobState::kRunning ? "true" : "false"}});
  JobRunOptions run_options{options_.max_parallel_trials, options_.retry};
  JobExecution execution(deps_, run_options, std::move(*job), cancel, &draining_,
                         [this] { Notify(); });
  execution.Run();
  absl::StatusOr<JobRow> after = deps_.store->GetJob(job_id);
  LogInfo("training_job_end", {{"job", job_id}, {"state", after.ok() ? absl::StrCat(static_cast<int>(after->state)) : "unknown"}});
  absl::MutexLock lock(&mu_);
  running_.erase(job_id);
  ++changes_;
}

absl::Status JobManager::CheckSpec(const v1::TrainingJobSpec& spec) {
  MLOPS_RETURN_IF_ERROR(ValidateJobSpec(spec));
  if (spec.trainer().kind() == v1::TRAINER_KIND_COMMAND && deps_.command != nullptr &&
      deps_.command->executor != nullptr && deps_.command->executor->name() == "kubernetes" &&
      spec.trainer().command().image().empty()) {
    return absl::InvalidArgumentError("trainer.command.image: required with the Kubernetes executor");
  }
  const std::string experiment = spec.experiment().empty() ? kDefaultExperiment : spec.experiment();
  MLOPS_RETURN_IF_ERROR(deps_.tracking->GetExperiment(experiment).status());
  const v1::DataSpec& d = spec.data();
  MLOPS_ASSIGN_OR_RETURN(DatasetInfo info, deps_.data->DescribeDataset(d.dataset()));
  if (!d.dataset_version_id().empty() && d.dataset_version_id() != "latest") {
    MLOPS_RETURN_IF_ERROR(deps_.data->ResolveVersion(d.dataset(), d.dataset_version_id()).status());
  }
  std::map<std::string, ColumnInfo> columns;
  bool any_feature_role = false;
  for (const ColumnInfo& c : info.columns) {
    columns[c.name] = c;
    any_feature_role |= c.role == kRoleFeature && c.name != d.label_column();
  }
  auto label = columns.find(d.label_column());
  if (label == columns.end()) {
    return absl::InvalidArgumentError(absl::StrCat("data.label_column \"", d.label_column(),
                                                   "\": no such column in dataset \"", d.dataset(), "\""));
  }
  MLOPS_RETURN_IF_ERROR(CheckLabelType(d.label_column(), label->second.type,
                                       static_cast<Objective>(spec.trainer().objective())));
  for (int i = 0; i < d.dataset_feature_columns_size(); ++i) {
    auto c = columns.find(d.dataset_feature_columns(i));
    const std::string field = absl::StrCat("data.dataset_feature_columns[", i, "] \"", d.dataset_feature_columns(i), "\"");
    if (c == columns.end()) return absl::InvalidArgumentError(absl::StrCat(field, ": no such column"));
    if (c->second.type == kTypeString) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": STRING features are not taken by built-in trainers"));
    }
  }
  if (d.dataset_feature_columns().empty() && d.feature_refs().empty() && !any_feature_role) {
    return absl::InvalidArgumentError("data: no feature refs, no dataset feature columns, and the dataset has no FEATURE columns");
  }
  for (int i = 0; i < d.feature_refs_size(); ++i) {
    const std::string field = absl::StrCat("data.feature_refs[", i, "]");
    MLOPS_ASSIGN_OR_RETURN(FeatureRef ref, ParseFeatureRef(field, d.feature_refs(i)));
    MLOPS_ASSIGN_OR_RETURN(FeatureViewInfo view, deps_.data->DescribeFeatureView(ref.view, ref.version));
    if (ref.feature == "*") continue;
    bool found = false;
    for (const ColumnInfo& f : view.features) {
      if (f.name != ref.feature) continue;
      found = true;
      if (f.type == kTypeString) {
        return absl::InvalidArgumentError(absl::StrCat(field, " \"", d.feature_refs(i), "\": STRING feature"));
      }
    }
    if (!found) {
      return absl::NotFoundError(absl::StrCat(field, ": feature \"", ref.feature, "\" not in view ", view.name, "@", view.version));
    }
  }
  const bool has_time = !d.timestamp_column().empty() ||
                        std::any_of(info.columns.begin(), info.columns.end(),
                                    [](const ColumnInfo& c) { return c.role == kRoleEventTimestamp; });
  if (spec.split().kind() == v1::SPLIT_KIND_TIME && !has_time) {
    return absl::InvalidArgumentError("split.kind: SPLIT_KIND_TIME needs an event time column");
  }
  if (!d.timestamp_column().empty() && !columns.count(d.timestamp_column())) {
    return absl::InvalidArgumentError(absl::StrCat("data.timestamp_column \"", d.timestamp_column(), "\": no such column"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::TrainingJob> JobManager::Submit(const v1::TrainingJobSpec& spec,
                                                   const std::string& idempotency_key,
                                                   const std::string& principal,
                                                   const v1::TriggerCause& cause,
                                                   const std::string& trigger_name) {
  if (idempotency_key.size() > 128 ||
      idempotency_key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") !=
          std::string::npos) {
    return absl::InvalidArgumentError("idempotency_key: at most 128 bytes of [A-Za-z0-9._:-]");
  }
  if (draining_.load()) return absl::UnavailableError("the training service is draining");
  MLOPS_RETURN_IF_ERROR(CheckSpec(spec));
  const int64_t now = deps_.tracking->Now();
  v1::TrainingJob job;
  job.set_id(NewJobId());
  *job.mutable_spec() = spec;
  job.set_state(v1::JOB_STATE_QUEUED);
  *job.mutable_cause() = cause;
  if (job.cause().kind() == v1::TRIGGER_KIND_UNSPECIFIED) job.mutable_cause()->set_kind(v1::TRIGGER_KIND_MANUAL);
  if (job.cause().principal().empty()) job.mutable_cause()->set_principal(principal);
  if (job.cause().fired_at_micros() == 0) job.mutable_cause()->set_fired_at_micros(now);
  job.set_principal(principal);
  job.set_created_at_micros(now);
  job.set_idempotency_key(idempotency_key);
  JobRow row;
  row.id = job.id();
  row.state = JobState::kQueued;
  row.experiment = spec.experiment().empty() ? kDefaultExperiment : spec.experiment();
  row.trigger_name = trigger_name;
  row.idempotency_key = idempotency_key;
  row.spec_fingerprint = SpecFingerprint(spec);
  row.created_at_micros = now;
  row.payload = job.SerializeAsString();
  bool created = false;
  MLOPS_ASSIGN_OR_RETURN(JobRow stored, deps_.store->CreateJob(row, &created));
  if (!created) {
    if (stored.spec_fingerprint != row.spec_fingerprint) {
      return absl::AlreadyExistsError(absl::StrCat("idempotency_key \"", idempotency_key,
                                                   "\" was used by job ", stored.id, " with another spec"));
    }
    return Parse(stored);
  }
  LogInfo("training_job_submitted", {{"job", job.id()}, {"principal", principal},
                                     {"cause", DescribeCause(job.cause())}});
  Enqueue(job.id());
  return job;
}

absl::StatusOr<v1::TrainingJob> JobManager::Get(const std::string& job_id) {
  MLOPS_RETURN_IF_ERROR(ValidateJobId(job_id));
  MLOPS_ASSIGN_OR_RETURN(JobRow row, deps_.store->GetJob(job_id));
  return Parse(row);
}

absl::StatusOr<JobPage> JobManager::List(const std::string& experiment, const std::vector<JobState>& states,
                                         const std::string& trigger_name, const std::string& page_token,
                                         int page_size) {
  if (!experiment.empty()) MLOPS_RETURN_IF_ERROR(ValidateName("experiment", experiment));
  if (!trigger_name.empty()) MLOPS_RETURN_IF_ERROR(ValidateName("trigger_name", trigger_name));
  for (JobState s : states) {
    if (s == JobState::kUnspecified || static_cast<int>(s) > 5) return absl::InvalidArgumentError("states: unknown state");
  }
  JobListFilter filter;
  filter.experiment = experiment;
  filter.states = states;
  filter.trigger_name = trigger_name;
  if (!page_token.empty()) {
    MLOPS_ASSIGN_OR_RETURN(filter.before, DecodeJobToken(page_token));
  }
  const int limit = ClampPageSize(page_size, 100, 1000);
  filter.limit = limit + 1;
  MLOPS_ASSIGN_OR_RETURN(std::vector<JobRow> rows, deps_.store->ListJobs(filter));
  JobPage page;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(static_cast<std::size_t>(limit));
    page.next_page_token = EncodeJobToken(rows.back());
  }
  for (const JobRow& row : rows) {
    MLOPS_ASSIGN_OR_RETURN(v1::TrainingJob job, Parse(row));
    page.jobs.push_back(std::move(job));
  }
  return page;
}

absl::StatusOr<v1::TrainingJob> JobManager::Cancel(const std::string& job_id, const std::string& reason) {
  MLOPS_RETURN_IF_ERROR(ValidateJobId(job_id));
  if (reason.size() > kMaxReasonBytes) return absl::InvalidArgumentError("reason: above 4096 bytes");
  for (int attempt = 0; attempt < 5; ++attempt) {
    MLOPS_ASSIGN_OR_RETURN(JobRow row, deps_.store->GetJob(job_id));
    MLOPS_ASSIGN_OR_RETURN(v1::TrainingJob job, Parse(row));
    if (row.state == JobState::kCancelled) return job;
    if (IsTerminal(row.state)) {
      return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " already ended with state ",
                                                        v1::JobState_Name(job.state())));
    }
    job.set_state(v1::JOB_STATE_CANCELLED);
    job.set_failure_reason(reason.empty() ? "cancelled" : reason);
    job.set_finished_at_micros(deps_.tracking->Now());
    absl::Status s = deps_.store->UpdateJob(job_id, JobState::kCancelled, job.SerializeAsString(),
                                            {JobState::kQueued, JobState::kRunning});
    if (absl::IsFailedPrecondition(s)) continue;  // moved meanwhile: look again
    MLOPS_RETURN_IF_ERROR(s);
    {
      absl::MutexLock lock(&mu_);
      if (auto it = running_.find(job_id); it != running_.end()) it->second->store(true);
      queue_.erase(std::remove(queue_.begin(), queue_.end(), job_id), queue_.end());
      ++changes_;
    }
    LogInfo("training_job_cancelled", {{"job", job_id}});
    RefreshGauges();
    return job;
  }
  return absl::AbortedError(absl::StrCat("job ", job_id, " kept changing; retry"));
}

}  // namespace mlops::training
