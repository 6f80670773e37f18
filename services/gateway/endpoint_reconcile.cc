// EndpointManager::ApplyDesired: following the registry's deployment stream.
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/gateway/endpoint_manager.h"

namespace mlops::gateway {

namespace {

bool IsTransient(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsAborted(s);
}

}  // namespace

absl::Status EndpointManager::LoadRolloutVersions(const DesiredEndpoint& d, Serving* s) {
  const RolloutRecord& r = *d.rollout;
  absl::Status status;
  int64_t failed = 0;
  for (int64_t v : {r.primary_version, r.candidate_version}) {
    absl::StatusOr<std::shared_ptr<const LoadedModel>> m = cache_->Get(d.model, v, d.endpoint);
    if (!m.ok()) {
      status = m.status();
      failed = v;
      break;
    }
    (v == r.primary_version ? s->primary : s->candidate) = *m;
  }
  if (status.ok()) return status;
  // A manual rollout whose version cannot be loaded (not merely a registry
  // hiccup, retried by the next message) is given up by this replica: the
  // registry hears LOAD_FAILED then ROLLED_BACK, and SetRollout its error.
  if (r.origin == 2 && r.state == RolloutState::kPending && !IsTransient(status)) {
    DeploymentEvent ev;
    ev.endpoint = d.endpoint;
    ev.type = DeploymentEventType::kLoadFailed;
    ev.rollout_id = r.rollout_id;
    ev.primary_version = r.primary_version;
    ev.candidate_version = r.candidate_version;
    ev.reason = absl::StrCat("version ", failed, ": ", status.message());
    Report(ev).IgnoreError();
    ev.type = DeploymentEventType::kRolledBack;
    ev.reason = absl::StrCat("version ", failed, " failed to load: ", status.message());
    Report(ev).IgnoreError();
    RecordApplyFailure(d.endpoint, r.rollout_id, status);
  }
  return status;
}

absl::Status EndpointManager::ApplyDesired(const DesiredEndpoint& d) {
  std::lock_guard<std::mutex> change(change_mu_);
  std::shared_ptr<const Serving> current = Find(d.endpoint);
  if (d.primary_version == 0) return absl::OkStatus();  // answers FAILED_PRECONDITION lazily
  auto s = current ? std::make_shared<Serving>(*current) : std::make_shared<Serving>();
  s->endpoint = d.endpoint;
  s->model = d.model;
  if (!s->stats) s->stats = std::make_shared<RolloutStats>();
  const bool local_active = current && current->rollout && IsActive(current->rollout->state);
  const bool same = current && current->rollout && d.rollout &&
                    current->rollout->rollout_id == d.rollout->rollout_id;
  bool report_started = false;
  if (d.rollout && IsActive(d.rollout->state) && !same) {
    // A rollout this replica does not run yet (a promotion, or another replica's SetRollout).
    // A MANUAL candidate may be a STAGING version (a shadow): loaded by version
    // like any other, whatever its stage.
    const RolloutRecord& r = *d.rollout;
    absl::Status loaded = LoadRolloutVersions(d, s.get());
    if (!loaded.ok()) return loaded;
    if (local_active) {  // replaced by the registry (SetRollout with replace_active)
      Serving superseded = *current;
      superseded.rollout->state = RolloutState::kSuperseded;
      superseded.rollout->finished_at_micros = options_.now_micros();
      MLOPS_RETURN_IF_ERROR(Persist(superseded));
    }
    s->rollout = r;
    report_started = r.state == RolloutState::kPending;
    s->rollout->state = RolloutState::kInProgress;  // both versions are loaded and warm
    s->rollout->step_started_at_micros = options_.now_micros();
    s->plan = d.plan;
    s->stats = std::make_shared<RolloutStats>();
  } else if (same && local_active && !IsActive(d.rollout->state)) {
    // Finished on another replica: follow without reporting again.
    s->rollout->state = d.rollout->state;
    s->rollout->finished_at_micros = options_.now_micros();
    s->rollout->rollback_reason = d.rollout->rollback_reason;
    if (d.rollout->state == RolloutState::kCompleted &&
        (s->plan.strategy != Strategy::kShadow || s->plan.promote_on_success)) {
      s->previous = s->primary;
      s->primary = s->candidate;
    }
    s->candidate = nullptr;
  } else if (same && local_active && d.rollout->step > current->rollout->step) {
    s->rollout->step = d.rollout->step;
    s->rollout->step_started_at_micros = options_.now_micros();
    s->stats = std::make_shared<RolloutStats>();
  } else if (!local_active && (!current || current->primary->info.version != d.primary_version)) {
    MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> primary,
                           cache_->Get(d.model, d.primary_version, d.endpoint));
    if (current) s->previous = current->primary;
    s->primary = primary;
    if (d.rollout) {
      s->rollout = d.rollout;
      s->plan = d.plan;
    }
  } else {
    return absl::OkStatus();  // nothing this replica must change
  }
  s->generation = ++generation_;
  MLOPS_RETURN_IF_ERROR(Persist(*s));
  Publish(s);
  pending_restore_.erase(d.endpoint);  // the registry's state replaces what was not restored
  LogInfo("endpoint_reconciled", {{"endpoint", d.endpoint},
                                  {"primary", std::to_string(s->primary->info.version)},
                                  {"rollout", s->rollout ? s->rollout->rollout_id : ""}});
  if (report_started) {
    DeploymentEvent ev;
    ev.endpoint = d.endpoint;
    ev.type = DeploymentEventType::kRolloutStarted;
    ev.rollout_id = s->rollout->rollout_id;
    ev.primary_version = s->rollout->primary_version;
    ev.candidate_version = s->rollout->candidate_version;
    ev.candidate_percent = CandidatePercent(s->plan, s->rollout->state, s->rollout->step);
    Report(ev).IgnoreError();
  }
  return absl::OkStatus();
}

}  // namespace mlops::gateway
