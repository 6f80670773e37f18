#include "services/gateway/endpoint_manager.h"

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace mlops::gateway {
namespace {

std::map<std::string, double> Figures(const AnalysisResult& a) {
  std::map<std::string, double> m;
  for (const CheckResult& c : a.checks) {
    if (c.evaluated) m[c.name] = c.measured;
  }
  return m;
}

DeploymentEvent MakeEvent(const std::string& endpoint, DeploymentEventType type,
                          std::string rollout_id = "", int64_t primary = 0, int64_t candidate = 0) {
  DeploymentEvent e;
  e.endpoint = endpoint;
  e.type = type;
  e.rollout_id = std::move(rollout_id);
  e.primary_version = primary;
  e.candidate_version = candidate;
  return e;
}

// A claim token unique across replicas (64 random bits).
std::string NewClaimToken() {
  std::random_device rd;
  const uint64_t bits = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return absl::StrCat("claim-", absl::Hex(bits, absl::kZeroPad16));
}

}  // namespace

EndpointManager::EndpointManager(ModelCache* cache, EndpointDirectory* directory,
                                 DeploymentReporter* reporter, EndpointStore* store,
                                 RolloutObserver* observer, EndpointManagerOptions options)
    : cache_(cache),
      directory_(directory),
      reporter_(reporter),
      store_(store),
      observer_(observer),
      options_(std::move(options)) {}

void EndpointManager::Publish(std::shared_ptr<const Serving> serving) {
  if (observer_ != nullptr && serving->rollout) {
    const RolloutRecord& r = *serving->rollout;
    observer_->RolloutState(serving->endpoint, static_cast<int>(r.state), r.step,
                            CandidatePercent(serving->plan, r.state, r.step));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    serving_[serving->endpoint] = std::move(serving);
  }
  published_.notify_all();
}

std::shared_ptr<const Serving> EndpointManager::Find(const std::string& endpoint) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = serving_.find(endpoint);
  return it == serving_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Serving>> EndpointManager::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<const Serving>> out;
  for (const auto& [name, s] : serving_) out.push_back(s);
  return out;
}

AnalysisResult EndpointManager::LastAnalysis(const std::string& endpoint) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = analysis_.find(endpoint);
  return it == analysis_.end() ? AnalysisResult{} : it->second;
}

absl::Status EndpointManager::Persist(const Serving& s) {
  EndpointRecord e;
  e.endpoint = s.endpoint;
  e.model = s.model;
  e.primary_version = s.primary->info.version;
  e.previous_version = s.previous ? s.previous->info.version : 0;
  e.rollout = s.rollout;
  e.updated_at_micros = options_.now_micros();
  return store_->Save(e);
}

absl::Status EndpointManager::Report(DeploymentEvent event) {
  // The registry knows only its own rollouts (not legacy local ones, not none).
  if (event.rollout_id.empty() || event.rollout_id.rfind(kLegacyLocalRolloutPrefix, 0) == 0) {
    return absl::OkStatus();
  }
  event.at_micros = options_.now_micros();
  absl::StatusOr<std::string> id = reporter_->Report(event);
  if (!id.ok()) {
    LogWarn("deployment_event_not_reported",
            {{"endpoint", event.endpoint},
             {"type", std::to_string(static_cast<int>(event.type))},
             {"status", id.status().ToString()}});
  }
  return id.status();
}

absl::Status EndpointManager::Restore() {
  MLOPS_ASSIGN_OR_RETURN(std::vector<EndpointRecord> records, store_->LoadAll());
  std::lock_guard<std::mutex> change(change_mu_);
  for (const EndpointRecord& e : records) {
    absl::Status s = RestoreOne(e);
    if (!s.ok()) {
      // Retried by Tick and by the endpoint's next Predict; never replaced by a
      // fresh lazy load, which would forget the persisted rollout.
      LogWarn("endpoint_not_restored", {{"endpoint", e.endpoint}, {"status", s.ToString()}});
      pending_restore_[e.endpoint] = e;
    }
  }
  return absl::OkStatus();
}

absl::Status EndpointManager::RestoreOne(const EndpointRecord& e) {
  auto s = std::make_shared<Serving>();
  s->endpoint = e.endpoint;
  s->model = e.model;
  MLOPS_ASSIGN_OR_RETURN(s->primary, cache_->Get(e.model, e.primary_version, e.endpoint));
  if (e.previous_version != 0) {
    absl::StatusOr<std::shared_ptr<const LoadedModel>> prev =
        cache_->Get(e.model, e.previous_version, e.endpoint);
    if (prev.ok()) s->previous = *prev;
  }
  s->stats = std::make_shared<RolloutStats>();
  bool legacy_ended = false;
  if (e.rollout) {
    s->rollout = e.rollout;
    MLOPS_ASSIGN_OR_RETURN(s->plan, options_.parse_plan(e.rollout->spec_bytes));
    if (IsActive(e.rollout->state) &&
        e.rollout->rollout_id.rfind(kLegacyLocalRolloutPrefix, 0) == 0) {
      // Run by an older gateway on its replica alone; the registry never knew
      // it. Ended here: what to serve comes from the registry's stream.
      s->rollout->state = RolloutState::kSuperseded;
      s->rollout->finished_at_micros = options_.now_micros();
      s->rollout->rollback_reason = "local-only rollout of an older gateway, ended at restart";
      legacy_ended = true;
    } else if (IsActive(e.rollout->state)) {
      MLOPS_ASSIGN_OR_RETURN(s->candidate,
                             cache_->Get(e.model, e.rollout->candidate_version, e.endpoint));
      // The window restarts: statistics of the old process are gone.
      s->rollout->step_started_at_micros = options_.now_micros();
    }
  }
  s->generation = ++generation_;
  if (legacy_ended) {
    MLOPS_RETURN_IF_ERROR(Persist(*s));
    LogWarn("legacy_local_rollout_ended", {{"endpoint", e.endpoint},
                                           {"rollout", e.rollout->rollout_id}});
  }
  LogInfo("endpoint_restored", {{"endpoint", e.endpoint},
                                {"primary", std::to_string(e.primary_version)},
                                {"rollout", e.rollout ? e.rollout->rollout_id : ""}});
  Publish(std::move(s));
  pending_restore_.erase(e.endpoint);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Serving>> EndpointManager::Resolve(
    const std::string& endpoint) {
  if (std::shared_ptr<const Serving> s = Find(endpoint)) return s;
  std::lock_guard<std::mutex> change(change_mu_);
  if (std::shared_ptr<const Serving> s = Find(endpoint)) return s;
  if (auto it = pending_restore_.find(endpoint); it != pending_restore_.end()) {
    const EndpointRecord record = it->second;
    absl::Status restored = RestoreOne(record);
    if (!restored.ok()) {
      return absl::UnavailableError(absl::StrCat("endpoint \"", endpoint,
                                                 "\": not restored yet: ", restored.message()));
    }
    return Find(endpoint);
  }
  MLOPS_ASSIGN_OR_RETURN(std::string model, directory_->EndpointModel(endpoint));
  absl::StatusOr<int64_t> version = directory_->ProductionVersion(model);
  if (absl::IsNotFound(version.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("endpoint \"", endpoint, "\": model \"", model, "\" has no production version"));
  }
  if (!version.ok()) return version.status();
  auto s = std::make_shared<Serving>();
  s->endpoint = endpoint;
  s->model = model;
  s->stats = std::make_shared<RolloutStats>();
  absl::StatusOr<std::shared_ptr<const LoadedModel>> primary = cache_->Get(model, *version, endpoint);
  if (!primary.ok()) {
    // No rollout: nothing the registry can record (LOAD_FAILED needs a rollout id).
    LogError("model_load_failed", {{"endpoint", endpoint},
                                   {"version", std::to_string(*version)},
                                   {"status", primary.status().ToString()}});
    if (absl::IsUnavailable(primary.status())) return primary.status();
    return absl::FailedPreconditionError(absl::StrCat("endpoint \"", endpoint, "\": version ",
                                                      *version, " failed to load: ",
                                                      primary.status().message()));
  }
  s->primary = *primary;
  s->generation = ++generation_;
  MLOPS_RETURN_IF_ERROR(Persist(*s));
  LogInfo("endpoint_loaded", {{"endpoint", endpoint}, {"model", model},
                              {"version", std::to_string(*version)}});
  Publish(s);
  return std::shared_ptr<const Serving>(s);
}

namespace {

// The registry's answer to a forwarded MANUAL_ROLLOUT as SetRollout's status.
absl::Status RegistryRefusal(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
      return absl::UnavailableError(
          absl::StrCat("registry unreachable, nothing changed: ", s.message()));
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      // The gateway's own service token, not the caller's: a misconfiguration.
      return absl::InternalError(
          absl::StrCat("the registry refused the gateway's service token: ", s.message()));
    case absl::StatusCode::kUnimplemented:
      return absl::UnimplementedError(
          absl::StrCat("the registry does not accept MANUAL_ROLLOUT: ", s.message()));
    default:
      return s;  // InvalidArgument, NotFound, FailedPrecondition (not eligible) as they are
  }
}

}  // namespace

absl::StatusOr<SetRolloutResult> EndpointManager::SetRollout(const StartRollout& start) {
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const Serving> current, Resolve(start.endpoint));
  std::string rollout_id;
  const std::string token = NewClaimToken();
  {
    std::lock_guard<std::mutex> change(change_mu_);
    current = Find(start.endpoint);
    const int64_t primary =
        start.primary_version == 0 ? current->primary->info.version : start.primary_version;
    if (start.candidate_version == primary) {
      return absl::InvalidArgumentError("candidate_version: equal to the primary version");
    }
    if (current->rollout && IsActive(current->rollout->state) && !start.replace_active) {
      return absl::FailedPreconditionError(absl::StrCat(
          "endpoint \"", start.endpoint, "\" has rollout ", current->rollout->rollout_id,
          " in progress (set replace_active to replace it)"));
    }
    // Across replicas: claim the endpoint's start in the shared store (its
    // row lock serializes two replicas; the second sees the first's claim).
    const int64_t now = options_.now_micros();
    MLOPS_RETURN_IF_ERROR(store_->ClaimRolloutStart(
        start.endpoint, token, now, [&](const RolloutStartView& view) {
          return DecideRolloutStart(start.endpoint, view, start.replace_active, now,
                                    options_.start_claim_ttl_micros);
        }));
    DeploymentEvent manual = MakeEvent(start.endpoint, DeploymentEventType::kManualRollout);
    manual.primary_version = start.primary_version;  // 0: the registry's current primary
    manual.candidate_version = start.candidate_version;
    manual.spec_bytes = start.spec_bytes;
    // The registry records the gateway's principal; the caller goes in the reason.
    manual.reason = start.principal.empty() ? start.reason
                                            : absl::StrCat(start.reason, " (by ", start.principal, ")");
    manual.at_micros = now;
    absl::StatusOr<std::string> accepted = reporter_->Report(manual);
    if (!accepted.ok() || accepted->empty()) {
      ReleaseStartClaim(start.endpoint, token);
      if (!accepted.ok()) return RegistryRefusal(accepted.status());
      return absl::InternalError("the registry accepted the rollout without a rollout id");
    }
    rollout_id = *accepted;
    if (absl::Status s = store_->FinishRolloutStart(start.endpoint, token, rollout_id); !s.ok()) {
      // The claim stays "being forwarded" until its ttl: other starts wait that long.
      LogWarn("rollout_claim_not_saved", {{"endpoint", start.endpoint}, {"rollout", rollout_id},
                                          {"status", s.ToString()}});
    }
  }
  LogInfo("rollout_forwarded", {{"endpoint", start.endpoint}, {"rollout", rollout_id},
                                {"candidate", std::to_string(start.candidate_version)}});
  // The follower (ApplyDesired) applies it when WatchDeployments brings it back.
  std::unique_lock<std::mutex> lock(mu_);
  published_.wait_for(lock, options_.apply_wait, [&] {
    auto s = serving_.find(start.endpoint);
    if (s != serving_.end() && s->second->rollout && s->second->rollout->rollout_id == rollout_id) {
      return true;
    }
    auto f = apply_failures_.find(start.endpoint);
    return f != apply_failures_.end() && f->second.first == rollout_id;
  });
  if (auto f = apply_failures_.find(start.endpoint);
      f != apply_failures_.end() && f->second.first == rollout_id) {
    const absl::Status failed = f->second.second;
    lock.unlock();
    ReleaseStartClaim(start.endpoint, token);  // given up here: another may start
    return failed;
  }
  SetRolloutResult out;
  auto s = serving_.find(start.endpoint);
  if (s != serving_.end() && s->second->rollout && s->second->rollout->rollout_id == rollout_id) {
    out.rollout = *s->second->rollout;
    out.applied = true;
    return out;
  }
  // Accepted by the registry, not here yet: PENDING, as the registry holds it.
  RolloutRecord& r = out.rollout;
  r.rollout_id = rollout_id;
  r.endpoint = start.endpoint;
  r.model = current->model;
  r.origin = 2;  // MANUAL
  r.spec_bytes = start.spec_bytes;
  r.primary_version =
      start.primary_version == 0 ? current->primary->info.version : start.primary_version;
  r.candidate_version = start.candidate_version;
  r.state = RolloutState::kPending;
  r.started_by = start.principal;
  LogWarn("rollout_not_applied_yet", {{"endpoint", start.endpoint}, {"rollout", rollout_id}});
  return out;
}

void EndpointManager::ReleaseStartClaim(const std::string& endpoint, const std::string& token) {
  if (absl::Status s = store_->FinishRolloutStart(endpoint, token, ""); !s.ok()) {
    LogWarn("rollout_claim_not_released", {{"endpoint", endpoint}, {"status", s.ToString()}});
  }
}

void EndpointManager::RecordApplyFailure(const std::string& endpoint, const std::string& rollout_id,
                                         const absl::Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    apply_failures_[endpoint] = {rollout_id, status};
  }
  published_.notify_all();
}

absl::Status EndpointManager::ApplyRollback(std::shared_ptr<const Serving> current,
                                            const std::string& reason, bool automatic,
                                            const AnalysisResult* analysis) {
  auto s = std::make_shared<Serving>(*current);
  const bool active = current->rollout && IsActive(current->rollout->state);
  if (active) {
    s->rollout->state = RolloutState::kRolledBack;
    s->rollout->finished_at_micros = options_.now_micros();
    s->rollout->rollback_reason = reason;
    s->candidate = nullptr;
  } else if (current->previous) {  // blue-green switch back
    s->primary = current->previous;
    s->previous = current->primary;
    if (s->rollout) {
      s->rollout->state = RolloutState::kRolledBack;
      s->rollout->rollback_reason = reason;
    }
  } else {
    return absl::FailedPreconditionError(
        absl::StrCat("endpoint \"", current->endpoint, "\": nothing to roll back to"));
  }
  s->generation = ++generation_;
  Publish(s);  // traffic is back on the primary from here on
  if (observer_ != nullptr) observer_->RolledBack(s->endpoint, automatic);
  LogWarn("rollout_rolled_back", {{"endpoint", s->endpoint},
                                  {"rollout", s->rollout ? s->rollout->rollout_id : ""},
                                  {"automatic", automatic ? "true" : "false"},
                                  {"reason", reason}});
  absl::Status persisted = Persist(*s);
  DeploymentEvent ev = MakeEvent(s->endpoint, DeploymentEventType::kRolledBack,
                     s->rollout ? s->rollout->rollout_id : "",
                     s->primary->info.version,
                     s->rollout ? s->rollout->candidate_version : current->primary->info.version);
  ev.reason = reason;
  if (analysis != nullptr) ev.metrics = Figures(*analysis);
  absl::Status reported = Report(ev);
  if (!persisted.ok()) return persisted;
  if (!reported.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "traffic is back on the primary, but the registry was not told: ", reported.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<RolloutRecord> EndpointManager::Rollback(const std::string& endpoint,
                                                        const std::string& reason,
                                                        const std::string& principal) {
  std::shared_ptr<const Serving> current = Find(endpoint);
  if (current == nullptr) {
    MLOPS_RETURN_IF_ERROR(directory_->EndpointModel(endpoint).status());
    return absl::FailedPreconditionError(
        absl::StrCat("endpoint \"", endpoint, "\": nothing to roll back to"));
  }
  std::lock_guard<std::mutex> change(change_mu_);
  current = Find(endpoint);
  MLOPS_RETURN_IF_ERROR(
      ApplyRollback(current, absl::StrCat(reason, " (by ", principal, ")"), false, nullptr));
  std::shared_ptr<const Serving> now = Find(endpoint);
  return now->rollout ? *now->rollout : RolloutRecord{};
}

void EndpointManager::Tick() {
  std::lock_guard<std::mutex> change(change_mu_);
  std::vector<EndpointRecord> pending;
  for (const auto& [name, record] : pending_restore_) pending.push_back(record);
  for (const EndpointRecord& record : pending) RestoreOne(record).IgnoreError();
  for (const std::shared_ptr<const Serving>& s : List()) {
    if (s->rollout && s->rollout->state == RolloutState::kInProgress) AnalyzeOne(s);
  }
}

void EndpointManager::AnalyzeOne(const std::shared_ptr<const Serving>& s) {
  const RolloutRecord& r = *s->rollout;
  AnalysisInput in;
  in.plan = &s->plan;
  in.step = r.step;
  in.now_micros = options_.now_micros();
  in.step_started_at_micros = r.step_started_at_micros;
  in.primary = s->stats->primary.Snapshot();
  in.candidate = s->plan.strategy == Strategy::kShadow ? s->stats->shadow.Snapshot()
                                                       : s->stats->candidate.Snapshot();
  in.shadow = s->stats->comparison.Snapshot();
  AnalysisResult a = Analyze(in);
  if (observer_ != nullptr && in.shadow.compared > 0) {
    observer_->ShadowAgreement(s->endpoint, in.shadow.agreement_rate);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    analysis_[s->endpoint] = a;
  }
  if (a.breached && !s->plan.auto_rollback) {
    LogWarn("rollout_breach_ignored", {{"endpoint", s->endpoint}, {"reason", a.reason}});
  }
  if (a.action == AnalysisAction::kWait) return;
  if (a.action == AnalysisAction::kRollback) {
    ApplyRollback(s, "automatic rollback: " + a.reason, true, &a).IgnoreError();
    return;
  }
  auto next = std::make_shared<Serving>(*s);
  RolloutRecord& nr = *next->rollout;
  DeploymentEvent ev = MakeEvent(s->endpoint, DeploymentEventType::kStepAdvanced, nr.rollout_id,
                     nr.primary_version, nr.candidate_version);
  if (a.action == AnalysisAction::kAdvance) {
    ++nr.step;
    nr.step_started_at_micros = in.now_micros;
    next->stats = std::make_shared<RolloutStats>();
    ev.step = nr.step;
  } else {
    nr.state = RolloutState::kCompleted;
    nr.finished_at_micros = in.now_micros;
    ev.type = DeploymentEventType::kCompleted;
    const bool promote = s->plan.strategy != Strategy::kShadow || s->plan.promote_on_success;
    if (promote) {
      next->previous = s->primary;
      next->primary = s->candidate;
    }
    next->candidate = nullptr;
  }
  ev.candidate_percent = CandidatePercent(next->plan, nr.state, nr.step);
  ev.metrics = Figures(a);
  next->generation = ++generation_;
  absl::Status persisted = Persist(*next);
  if (!persisted.ok()) {
    LogError("rollout_not_persisted", {{"endpoint", s->endpoint}, {"status", persisted.ToString()}});
    return;  // retried on the next tick
  }
  Publish(next);
  LogInfo(a.action == AnalysisAction::kAdvance ? "rollout_step_advanced" : "rollout_completed",
          {{"endpoint", s->endpoint}, {"rollout", nr.rollout_id}, {"step", std::to_string(nr.step)}});
  Report(ev).IgnoreError();
}

}  // namespace mlops::gateway
