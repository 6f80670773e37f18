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

JobManager::JobManager(JobDeps deps, JobManagerOptions options)
    : deps_(deps),
      options_(options),
      replica_id_(options.replica_id.empty() ? DefaultReplicaId() : options.replica_id) {}

JobManager::~JobManager() { Stop(); }

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
  Wake();
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
      if (auto it = running_.find(job_id); it != running_.end()) it->second.cancel->store(true);
      ++changes_;
    }
    LogInfo("training_job_cancelled", {{"job", job_id}});
    RefreshGauges();
    return job;
  }
  return absl::AbortedError(absl::StrCat("job ", job_id, " kept changing; retry"));
}

}  // namespace mlops::training
