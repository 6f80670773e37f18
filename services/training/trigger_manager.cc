#include "services/training/trigger_manager.h"

#include <algorithm>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/training/job_spec.h"
#include "services/training/tracking.h"

namespace mlops::training {
namespace {

constexpr int64_t kMinIntervalMicros = 60'000'000;

absl::StatusOr<v1::PipelineTrigger> Parse(const TriggerRow& row) {
  v1::PipelineTrigger t;
  if (!t.ParseFromString(row.payload)) return absl::InternalError(absl::StrCat("trigger ", row.name, ": bad payload"));
  return t;
}

std::string FollowedDataset(const v1::PipelineTrigger& t) {
  return t.dataset().empty() ? t.job().data().dataset() : t.dataset();
}

absl::Status ValidateTrigger(const v1::PipelineTrigger& t) {
  MLOPS_RETURN_IF_ERROR(ValidateName("trigger.name", t.name()));
  if (t.kind() < v1::TRIGGER_KIND_SCHEDULE || t.kind() > v1::TRIGGER_KIND_MANUAL) {
    return absl::InvalidArgumentError("trigger.kind: SCHEDULE, NEW_DATASET_VERSION, MONITORING_ALERT or MANUAL required");
  }
  if (t.kind() == v1::TRIGGER_KIND_SCHEDULE && t.interval_micros() < kMinIntervalMicros) {
    return absl::InvalidArgumentError("trigger.interval_micros: SCHEDULE needs at least 60 s");
  }
  if (t.kind() == v1::TRIGGER_KIND_MONITORING_ALERT) {
    if (t.model_name().empty()) return absl::InvalidArgumentError("trigger.model_name: required for MONITORING_ALERT");
  }
  if (!t.model_name().empty()) MLOPS_RETURN_IF_ERROR(ValidateName("trigger.model_name", t.model_name()));
  if (!t.dataset().empty()) MLOPS_RETURN_IF_ERROR(ValidateName("trigger.dataset", t.dataset()));
  if (t.cooldown_micros() < 0) return absl::InvalidArgumentError("trigger.cooldown_micros: negative");
  if (t.description().size() > kMaxDescriptionBytes) {
    return absl::InvalidArgumentError("trigger.description: above 4096 bytes");
  }
  return absl::OkStatus();
}

// The job's own idempotency key for a de-duplicated fire: [A-Za-z0-9._:-],
// at most 128 bytes, whatever the fire key holds.
std::string JobKey(const std::string& trigger, const std::string& key) {
  return absl::StrCat("trigger:", Sha256Hex(absl::StrCat(trigger, "\n", key)).substr(0, 40));
}

v1::FiredTrigger Outcome(const std::string& name, v1::FireOutcome outcome, const std::string& job_id,
                         const std::string& detail) {
  v1::FiredTrigger f;
  f.set_trigger_name(name);
  f.set_outcome(outcome);
  f.set_job_id(job_id);
  f.set_detail(detail);
  return f;
}

}  // namespace

TriggerManager::TriggerManager(JobStore* store, JobManager* jobs, Tracking* tracking,
                               TriggerManagerOptions options)
    : store_(store), jobs_(jobs), tracking_(tracking), options_(options) {}

TriggerManager::~TriggerManager() { StopScheduler(); }

absl::Status TriggerManager::Save(const v1::PipelineTrigger& t) {
  TriggerRow row;
  row.name = t.name();
  row.payload = t.SerializeAsString();
  return store_->UpdateTrigger(row);
}

absl::StatusOr<v1::PipelineTrigger> TriggerManager::Create(v1::PipelineTrigger t, const std::string& principal) {
  MLOPS_RETURN_IF_ERROR(ValidateTrigger(t));
  absl::Status template_ok = jobs_->CheckSpec(t.job());
  if (!template_ok.ok()) {
    return absl::Status(template_ok.code(), absl::StrCat("trigger.job: ", template_ok.message()));
  }
  const int64_t now = tracking_->Now();
  t.set_created_at_micros(now);
  t.set_principal(principal);
  t.set_last_fired_at_micros(0);
  t.clear_last_job_id();
  t.set_job_count(0);
  t.set_next_fire_at_micros(t.kind() == v1::TRIGGER_KIND_SCHEDULE && !t.paused() ? now + t.interval_micros() : 0);
  TriggerRow row;
  row.name = t.name();
  row.kind = t.kind();
  row.model_name = t.model_name();
  row.dataset = FollowedDataset(t);
  row.created_at_micros = now;
  row.payload = t.SerializeAsString();
  MLOPS_RETURN_IF_ERROR(store_->CreateTrigger(row));
  LogInfo("training_trigger_created", {{"trigger", t.name()}, {"kind", v1::TriggerKind_Name(t.kind())}});
  return t;
}

absl::StatusOr<TriggerPage> TriggerManager::List(const v1::ListPipelineTriggersRequest& req) {
  if (req.kind() < 0 || req.kind() > v1::TRIGGER_KIND_MANUAL) return absl::InvalidArgumentError("kind: unknown");
  if (!req.model_name().empty()) MLOPS_RETURN_IF_ERROR(ValidateName("model_name", req.model_name()));
  if (!req.dataset().empty()) MLOPS_RETURN_IF_ERROR(ValidateName("dataset", req.dataset()));
  TriggerListFilter filter;
  filter.kind = req.kind();
  filter.model_name = req.model_name();
  filter.dataset = req.dataset();
  if (!req.page().page_token().empty()) {
    MLOPS_ASSIGN_OR_RETURN(filter.after_name, DecodeNameToken(req.page().page_token()));
  }
  const int limit = ClampPageSize(req.page().page_size(), 100, 1000);
  filter.limit = limit + 1;
  MLOPS_ASSIGN_OR_RETURN(std::vector<TriggerRow> rows, store_->ListTriggers(filter));
  TriggerPage page;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(static_cast<std::size_t>(limit));
    page.next_page_token = EncodeNameToken(rows.back().name);
  }
  for (const TriggerRow& row : rows) {
    MLOPS_ASSIGN_OR_RETURN(v1::PipelineTrigger t, Parse(row));
    page.triggers.push_back(std::move(t));
  }
  return page;
}

absl::StatusOr<v1::FireTriggerResponse> TriggerManager::Fire(const v1::FireTriggerRequest& req,
                                                             const std::string& principal) {
  if (req.alert_id().size() > 256) return absl::InvalidArgumentError("alert_id: above 256 bytes");
  if (req.reason().size() > kMaxDescriptionBytes) return absl::InvalidArgumentError("reason: above 4096 bytes");
  if (req.idempotency_key().size() > 256) return absl::InvalidArgumentError("idempotency_key: above 256 bytes");
  if (!req.dataset_version_id().empty()) MLOPS_RETURN_IF_ERROR(ValidateSha256(req.dataset_version_id()));
  std::vector<v1::PipelineTrigger> targets;
  switch (req.target_case()) {
    case v1::FireTriggerRequest::kTriggerName: {
      MLOPS_RETURN_IF_ERROR(ValidateName("trigger_name", req.trigger_name()));
      MLOPS_ASSIGN_OR_RETURN(TriggerRow row, store_->GetTrigger(req.trigger_name()));
      MLOPS_ASSIGN_OR_RETURN(v1::PipelineTrigger t, Parse(row));
      targets.push_back(std::move(t));
      break;
    }
    case v1::FireTriggerRequest::kModelName: {
      MLOPS_RETURN_IF_ERROR(ValidateName("model_name", req.model_name()));
      TriggerListFilter filter;
      filter.kind = v1::TRIGGER_KIND_MONITORING_ALERT;
      filter.model_name = req.model_name();
      filter.limit = 1000;
      MLOPS_ASSIGN_OR_RETURN(std::vector<TriggerRow> rows, store_->ListTriggers(filter));
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat("no MONITORING_ALERT trigger for model \"", req.model_name(), "\""));
      }
      for (const TriggerRow& row : rows) {
        MLOPS_ASSIGN_OR_RETURN(v1::PipelineTrigger t, Parse(row));
        targets.push_back(std::move(t));
      }
      break;
    }
    case v1::FireTriggerRequest::TARGET_NOT_SET:
      return absl::InvalidArgumentError("target: trigger_name or model_name required");
  }
  const std::string key = !req.idempotency_key().empty() ? req.idempotency_key() : req.alert_id();
  v1::FireTriggerResponse resp;
  absl::MutexLock lock(&fire_mu_);
  for (v1::PipelineTrigger& t : targets) {
    v1::TriggerCause cause;
    cause.set_kind(t.kind());
    cause.set_trigger_name(t.name());
    cause.set_alert_id(req.alert_id());
    if (t.kind() == v1::TRIGGER_KIND_NEW_DATASET_VERSION) cause.set_dataset_version_id(req.dataset_version_id());
    cause.set_principal(principal);
    cause.set_reason(req.reason());
    cause.set_fired_at_micros(tracking_->Now());
    MLOPS_ASSIGN_OR_RETURN(v1::FiredTrigger fired, FireOne(std::move(t), cause, key, req.dataset_version_id()));
    *resp.add_results() = std::move(fired);
  }
  return resp;
}

absl::StatusOr<v1::FiredTrigger> TriggerManager::FireOne(v1::PipelineTrigger t, v1::TriggerCause cause,
                                                         const std::string& key,
                                                         const std::string& dataset_version_id) {
  const int64_t now = cause.fired_at_micros();
  if (t.paused()) return Outcome(t.name(), v1::FIRE_OUTCOME_SKIPPED_PAUSED, "", "the trigger is paused");
  if (!key.empty()) {
    MLOPS_ASSIGN_OR_RETURN(std::optional<std::string> earlier, store_->FindFire(t.name(), key));
    if (earlier) return Outcome(t.name(), v1::FIRE_OUTCOME_DEDUPLICATED, *earlier, "fired before with this key");
  }
  if (!t.allow_concurrent() && !t.last_job_id().empty()) {
    absl::StatusOr<v1::TrainingJob> last = jobs_->Get(t.last_job_id());
    if (last.ok() && (last->state() == v1::JOB_STATE_QUEUED || last->state() == v1::JOB_STATE_RUNNING)) {
      return Outcome(t.name(), v1::FIRE_OUTCOME_SKIPPED_RUNNING, t.last_job_id(), "the previous job is still running");
    }
  }
  if (t.cooldown_micros() > 0 && t.last_fired_at_micros() > 0 && now - t.last_fired_at_micros() < t.cooldown_micros()) {
    return Outcome(t.name(), v1::FIRE_OUTCOME_SKIPPED_COOLDOWN, t.last_job_id(), "within the cooldown");
  }
  v1::TrainingJobSpec spec = t.job();
  if (!dataset_version_id.empty()) spec.mutable_data()->set_dataset_version_id(dataset_version_id);
  MLOPS_ASSIGN_OR_RETURN(v1::TrainingJob job,
                         jobs_->Submit(spec, key.empty() ? "" : JobKey(t.name(), key), cause.principal(),
                                       cause, t.name()));
  if (!key.empty()) {
    absl::Status recorded = store_->RecordFire(t.name(), key, job.id(), now);
    if (!recorded.ok() && !absl::IsAlreadyExists(recorded)) return recorded;
  }
  t.set_last_fired_at_micros(now);
  t.set_last_job_id(job.id());
  t.set_job_count(t.job_count() + 1);
  MLOPS_RETURN_IF_ERROR(Save(t));
  LogInfo("training_trigger_fired", {{"trigger", t.name()}, {"job", job.id()}, {"cause", DescribeCause(cause)}});
  return Outcome(t.name(), v1::FIRE_OUTCOME_STARTED, job.id(), DescribeCause(cause));
}

absl::StatusOr<std::vector<v1::FiredTrigger>> TriggerManager::FireDueSchedules(int64_t now) {
  TriggerListFilter filter;
  filter.kind = v1::TRIGGER_KIND_SCHEDULE;
  filter.limit = 1000;
  MLOPS_ASSIGN_OR_RETURN(std::vector<TriggerRow> rows, store_->ListTriggers(filter));
  std::vector<v1::FiredTrigger> out;
  absl::MutexLock lock(&fire_mu_);
  for (const TriggerRow& row : rows) {
    // Read again under the lock: another fire may have moved it.
    MLOPS_ASSIGN_OR_RETURN(TriggerRow fresh, store_->GetTrigger(row.name));
    MLOPS_ASSIGN_OR_RETURN(v1::PipelineTrigger t, Parse(fresh));
    if (t.paused() || t.next_fire_at_micros() == 0 || t.next_fire_at_micros() > now) continue;
    v1::TriggerCause cause;
    cause.set_kind(v1::TRIGGER_KIND_SCHEDULE);
    cause.set_trigger_name(t.name());
    cause.set_principal(t.principal());
    cause.set_reason("schedule");
    cause.set_fired_at_micros(now);
    // Replicas ticking together: the one that claims the tick fires it; the
    // others leave it (the claimer moves next_fire_at on).
    const int64_t due = t.next_fire_at_micros();
    MLOPS_ASSIGN_OR_RETURN(bool claimed, store_->ClaimTick(t.name(), due, jobs_->replica_id(),
                                                           options_.tick_claim_timeout));
    if (!claimed) continue;
    // The due time is also the fire's key: a takeover of a claim whose
    // replica died after submitting starts no second job.
    const std::string key = absl::StrCat("schedule:", due);
    int64_t next = due;
    while (next <= now) next += t.interval_micros();
    MLOPS_ASSIGN_OR_RETURN(v1::FiredTrigger fired, FireOne(t, cause, key, ""));
    MLOPS_ASSIGN_OR_RETURN(fresh, store_->GetTrigger(t.name()));  // FireOne may have saved it
    MLOPS_ASSIGN_OR_RETURN(t, Parse(fresh));
    t.set_next_fire_at_micros(next);
    MLOPS_RETURN_IF_ERROR(Save(t));
    MLOPS_RETURN_IF_ERROR(store_->FinishTick(t.name(), due, jobs_->replica_id()));
    out.push_back(std::move(fired));
  }
  return out;
}

absl::StatusOr<std::vector<v1::FiredTrigger>> TriggerManager::FireForDatasetVersion(
    const std::string& dataset, const std::string& version_id) {
  TriggerListFilter filter;
  filter.kind = v1::TRIGGER_KIND_NEW_DATASET_VERSION;
  filter.dataset = dataset;
  filter.limit = 1000;
  MLOPS_ASSIGN_OR_RETURN(std::vector<TriggerRow> rows, store_->ListTriggers(filter));
  std::vector<v1::FiredTrigger> out;
  absl::MutexLock lock(&fire_mu_);
  for (const TriggerRow& row : rows) {
    MLOPS_ASSIGN_OR_RETURN(v1::PipelineTrigger t, Parse(row));
    v1::TriggerCause cause;
    cause.set_kind(v1::TRIGGER_KIND_NEW_DATASET_VERSION);
    cause.set_trigger_name(t.name());
    cause.set_dataset_version_id(version_id);
    cause.set_principal(t.principal());
    cause.set_reason("new dataset version");
    cause.set_fired_at_micros(tracking_->Now());
    MLOPS_ASSIGN_OR_RETURN(v1::FiredTrigger fired,
                           FireOne(std::move(t), cause, absl::StrCat("version:", version_id), version_id));
    out.push_back(std::move(fired));
  }
  return out;
}

void TriggerManager::StartScheduler() {
  scheduler_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&stop_mu_);
        auto stopped = [this]() ABSL_SHARED_LOCKS_REQUIRED(stop_mu_) { return stop_; };
        if (stop_mu_.AwaitWithTimeout(absl::Condition(&stopped), options_.schedule_poll)) return;
      }
      absl::StatusOr<std::vector<v1::FiredTrigger>> fired = FireDueSchedules(tracking_->Now());
      if (!fired.ok()) LogWarn("training_schedule_failed", {{"status", fired.status().ToString()}});
    }
  });
}

void TriggerManager::StopScheduler() {
  {
    absl::MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  if (scheduler_.joinable()) scheduler_.join();
}

}  // namespace mlops::training
