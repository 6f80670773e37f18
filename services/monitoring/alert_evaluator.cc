#include "services/monitoring/alert_evaluator.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace mlops::monitoring {
namespace {

constexpr int64_t kDefaultMinSamples = 100;
constexpr int kPageSize = 1000;
constexpr int kMaxOpenAlertPages = 1000;

const char* OpText(v1::Comparison c) {
  switch (c) {
    case v1::COMPARISON_GREATER_OR_EQUAL:
      return ">=";
    case v1::COMPARISON_LESS_OR_EQUAL:
      return "<=";
    case v1::COMPARISON_GREATER:
      return ">";
    case v1::COMPARISON_LESS:
      return "<";
    default:
      return "?";
  }
}

std::string SeverityLabel(v1::Severity s) {
  std::string name = v1::Severity_Name(s);
  const std::string prefix = "SEVERITY_";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(name);
}

std::string Summary(const v1::AlertPolicy& p, int64_t version, const MetricValue& m) {
  std::string verdict;
  if (p.comparison() == v1::COMPARISON_UNSPECIFIED) {
    verdict = absl::StrCat(m.drifted ? " drifted" : " not drifted", " (statistic ", m.value, ")");
  } else {
    verdict = absl::StrCat(" ", m.value, " ", OpText(p.comparison()), " ", p.threshold());
  }
  return absl::StrCat(m.what, verdict, " (", p.model(), "@", version,
                      m.open_window ? ", open window so far [" : ", window [",
                      m.window_start_micros, ", ", m.window_end_micros, "), ", m.samples,
                      " samples)");
}

v1::AlertState StateOf(AlertPhase p) {
  switch (p) {
    case AlertPhase::kPending:
      return v1::ALERT_STATE_PENDING;
    case AlertPhase::kFiring:
      return v1::ALERT_STATE_FIRING;
    case AlertPhase::kResolved:
      return v1::ALERT_STATE_RESOLVED;
  }
  return v1::ALERT_STATE_UNSPECIFIED;
}

void SetTimes(const AlertTimes& t, v1::Alert* a) {
  a->set_state(StateOf(t.phase));
  a->set_pending_since_micros(t.pending_since_micros);
  a->set_fired_at_micros(t.fired_at_micros);
  a->set_resolved_at_micros(t.resolved_at_micros);
}

// One PENDING result per action of the policy.
void AddPendingActions(const v1::AlertPolicy& p, v1::Alert* a) {
  for (const v1::AlertAction& action : p.actions()) *a->add_actions() = PendingActionResult(action);
}

}  // namespace

v1::ActionResult PendingActionResult(const v1::AlertAction& action) {
  v1::ActionResult r;
  r.set_status(v1::ACTION_STATUS_PENDING);
  switch (action.action_case()) {
    case v1::AlertAction::kWebhook:
      r.set_kind(v1::ACTION_KIND_WEBHOOK);
      r.set_target(action.webhook().url());
      break;
    case v1::AlertAction::kRetrain:
      r.set_kind(v1::ACTION_KIND_RETRAIN);
      r.set_target(action.retrain().trigger_id());
      break;
    case v1::AlertAction::kRollback:
      r.set_kind(v1::ACTION_KIND_ROLLBACK);
      r.set_target(action.rollback().endpoint());
      break;
    default:
      break;
  }
  return r;
}

std::string AlertId(int64_t number) { return absl::StrCat("alert-", number); }

int64_t AlertNumber(const std::string& id) {
  const std::string prefix = "alert-";
  int64_t n = 0;
  if (id.rfind(prefix, 0) != 0 || !absl::SimpleAtoi(id.substr(prefix.size()), &n) || n < 1) {
    return 0;
  }
  return n;
}

AlertEvaluator::AlertEvaluator(MonitoringStore* store, AlertMetricSource* source, AlertHub* hub,
                               AlertActions* actions, AlertGauges* gauges,
                               AlertEvaluatorOptions options)
    : store_(store),
      source_(source),
      hub_(hub),
      actions_(actions),
      gauges_(gauges),
      options_(std::move(options)),
      machine_(options_.now_micros) {}

AlertEvaluator::~AlertEvaluator() { Stop(); }

absl::Status AlertEvaluator::Load() {
  absl::MutexLock lock(&mu_);
  AlertQuery q;
  q.states = {v1::ALERT_STATE_PENDING, v1::ALERT_STATE_FIRING};
  q.limit = kPageSize;
  for (int page = 0; page < kMaxOpenAlertPages; ++page) {
    MLOPS_ASSIGN_OR_RETURN(std::vector<StoredAlert> alerts, store_->ListAlerts(q));
    for (const StoredAlert& s : alerts) {
      v1::Alert a;
      if (!a.ParseFromString(s.alert)) return absl::InternalError("stored alert does not parse");
      const AlertKey key{a.model(), a.policy(), a.version()};
      machine_.Restore(key, {a.state() == v1::ALERT_STATE_FIRING ? AlertPhase::kFiring
                                                                 : AlertPhase::kPending,
                             a.pending_since_micros(), a.fired_at_micros(), 0});
      open_[key] = a;
      MLOPS_ASSIGN_OR_RETURN(std::optional<StoredPolicy> p, store_->GetPolicy(a.model(), a.policy()));
      if (p.has_value()) open_policies_[key].ParseFromString(p->policy);
    }
    if (static_cast<int>(alerts.size()) < kPageSize) break;
    q.before_number = alerts.back().number;
  }
  UpdateGauges();
  return absl::OkStatus();
}

void AlertEvaluator::Start() {
  absl::MutexLock lock(&mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Run(); });
}

void AlertEvaluator::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void AlertEvaluator::Run() {
  // Ends when Stop() sets stop_; each round waits `interval` or until then.
  while (true) {
    absl::Status s = EvaluateOnce();
    if (!s.ok()) LogWarn("alert_evaluation_failed", {{"status", s.ToString()}});
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Microseconds(options_.interval_micros));
    if (stop_) return;
  }
}

absl::Status AlertEvaluator::EvaluateOnce() {
  absl::MutexLock lock(&mu_);
  absl::Status first_error;
  std::string after_model, after_name;
  int seen = 0;
  while (seen < options_.max_policies) {
    MLOPS_ASSIGN_OR_RETURN(std::vector<StoredPolicy> page,
                           store_->ListPolicies("", after_model, after_name, kPageSize));
    for (const StoredPolicy& stored : page) {
      ++seen;
      v1::AlertPolicy policy;
      if (!policy.ParseFromString(stored.policy) || policy.disabled()) continue;
      std::vector<int64_t> versions = policy.version() != 0
                                          ? std::vector<int64_t>{policy.version()}
                                          : source_->ActiveVersions(policy.model());
      for (int64_t v : versions) {
        absl::Status s = EvaluatePolicy(policy, v);
        if (!s.ok() && first_error.ok()) first_error = s;
      }
    }
    if (static_cast<int>(page.size()) < kPageSize) break;
    after_model = page.back().model;
    after_name = page.back().name;
  }
  UpdateGauges();
  source_->AfterRound(options_.now_micros());
  return first_error;
}

absl::Status AlertEvaluator::EvaluatePolicy(const v1::AlertPolicy& policy, int64_t version) {
  const int64_t now = options_.now_micros();
  const int64_t min_samples = policy.min_samples() > 0 ? policy.min_samples() : kDefaultMinSamples;
  auto condition_of = [&policy](const MetricValue& v) {
    return policy.comparison() == v1::COMPARISON_UNSPECIFIED
               ? v.drifted
               : ConditionHolds(v.value, static_cast<CompareOp>(policy.comparison()),
                                policy.threshold());
  };
  auto observed = [&](const std::optional<MetricValue>& v) -> std::optional<WindowObservation> {
    if (!v.has_value()) return std::nullopt;
    return WindowObservation{v->samples, condition_of(*v)};
  };
  MLOPS_ASSIGN_OR_RETURN(std::optional<MetricValue> closed,
                         source_->Measure(policy, version, now, /*open_window=*/false));
  MLOPS_ASSIGN_OR_RETURN(std::optional<MetricValue> open,
                         source_->Measure(policy, version, now, /*open_window=*/true));
  const JudgedSpan span = ChooseJudgedSpan(observed(closed), observed(open), min_samples);
  if (span == JudgedSpan::kNone) return absl::OkStatus();
  const std::optional<MetricValue>& m = span == JudgedSpan::kOpen ? open : closed;
  const bool condition = condition_of(*m);
  const AlertKey key{policy.model(), policy.name(), version};
  const AlertStep step =
      machine_.Observe(key, m->samples >= min_samples, condition, policy.for_micros());
  if (step.transition == AlertTransition::kNone) return absl::OkStatus();
  v1::Alert alert;
  if (step.transition == AlertTransition::kCreatePending ||
      step.transition == AlertTransition::kCreateFiring) {
    MLOPS_ASSIGN_OR_RETURN(int64_t number, store_->NextAlertNumber());
    alert.set_id(AlertId(number));
    alert.set_model(policy.model());
    alert.set_version(version);
    alert.set_policy(policy.name());
    alert.set_metric(policy.metric());
    alert.set_feature(policy.feature());
    alert.set_comparison(policy.comparison());
    alert.set_threshold(policy.threshold());
    alert.set_severity(policy.severity());
  } else {
    alert = open_[key];
  }
  SetTimes(step.times, &alert);
  alert.set_value(m->value);
  alert.mutable_window()->set_start_micros(m->window_start_micros);
  alert.mutable_window()->set_end_micros(m->window_end_micros);
  alert.set_last_evaluated_at_micros(now);
  alert.set_summary(Summary(policy, version, *m));
  const bool fired = step.transition == AlertTransition::kFire ||
                     step.transition == AlertTransition::kCreateFiring;
  if (fired) AddPendingActions(policy, &alert);
  if (step.transition == AlertTransition::kResolve) {
    open_.erase(key);
    open_policies_.erase(key);
  } else {
    open_[key] = alert;
    open_policies_[key] = policy;
  }
  // Value refreshes of an open alert stay in memory (GetAlert and the
  // snapshot show them); lifecycle changes are stored and published.
  if (step.transition == AlertTransition::kStillPending ||
      step.transition == AlertTransition::kStillFiring) {
    return absl::OkStatus();
  }
  MLOPS_RETURN_IF_ERROR(Commit(alert));
  if (actions_ != nullptr && fired) actions_->Run(alert, policy, false);
  if (actions_ != nullptr && step.transition == AlertTransition::kResolve &&
      alert.fired_at_micros() != 0) {
    actions_->Run(alert, policy, true);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> AlertEvaluator::ResolveAll(const std::string& model, const std::string& name,
                                               const std::string& summary) {
  int resolved = 0;
  for (const AlertKey& key : machine_.OpenKeys(model, name)) {
    const AlertStep step = machine_.Resolve(key);
    v1::Alert alert = std::move(open_[key]);
    const v1::AlertPolicy policy = std::move(open_policies_[key]);
    open_.erase(key);
    open_policies_.erase(key);
    SetTimes(step.times, &alert);
    alert.set_summary(summary);
    MLOPS_RETURN_IF_ERROR(Commit(alert));
    if (actions_ != nullptr && alert.fired_at_micros() != 0) actions_->Run(alert, policy, true);
    ++resolved;
  }
  UpdateGauges();
  return resolved;
}

absl::StatusOr<int> AlertEvaluator::PolicyDeleted(const std::string& model,
                                                  const std::string& name) {
  absl::MutexLock lock(&mu_);
  return ResolveAll(model, name, "policy deleted");
}

absl::StatusOr<int> AlertEvaluator::PolicyReplaced(const v1::AlertPolicy& o,
                                                   const v1::AlertPolicy& n) {
  const bool same = o.version() == n.version() && o.metric() == n.metric() &&
                    o.feature() == n.feature() && o.comparison() == n.comparison() &&
                    o.threshold() == n.threshold();
  if (same && !n.disabled()) return 0;
  absl::MutexLock lock(&mu_);
  return ResolveAll(o.model(), o.name(), same ? "policy disabled" : "policy changed");
}

void AlertEvaluator::RecordAction(const std::string& alert_id, int index,
                                  const v1::ActionResult& result) {
  absl::MutexLock lock(&mu_);
  v1::Alert* alert = nullptr;
  for (auto& [key, a] : open_) {
    if (a.id() == alert_id) alert = &a;
  }
  v1::Alert stored;
  if (alert == nullptr) {
    absl::StatusOr<std::optional<StoredAlert>> s = store_->GetAlert(AlertNumber(alert_id));
    if (!s.ok() || !s->has_value() || !stored.ParseFromString((*s)->alert)) {
      LogWarn("alert_action_result_lost", {{"alert", alert_id}});
      return;
    }
    alert = &stored;
  }
  while (alert->actions_size() <= index) alert->add_actions();
  *alert->mutable_actions(index) = result;
  absl::Status s = Commit(*alert);
  if (!s.ok()) LogWarn("alert_action_result_not_stored", {{"alert", alert_id}, {"status", s.ToString()}});
}

std::vector<v1::Alert> AlertEvaluator::OpenAlerts() const {
  absl::MutexLock lock(&mu_);
  std::vector<v1::Alert> out;
  for (const auto& [key, a] : open_) out.push_back(a);
  return out;
}

absl::Status AlertEvaluator::Commit(const v1::Alert& a) {
  StoredAlert s;
  s.number = AlertNumber(a.id());
  s.model = a.model();
  s.version = a.version();
  s.policy = a.policy();
  s.state = a.state();
  s.severity = a.severity();
  s.pending_since_micros = a.pending_since_micros();
  s.resolved_at_micros = a.resolved_at_micros();
  s.alert = a.SerializeAsString();
  MLOPS_RETURN_IF_ERROR(store_->PutAlert(s));
  hub_->Publish(a);
  return absl::OkStatus();
}

void AlertEvaluator::UpdateGauges() {
  if (gauges_ == nullptr) return;
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> firing;
  for (const auto& key : gauge_keys_) firing[key] = 0;
  for (const auto& [key, a] : open_) {
    if (a.state() != v1::ALERT_STATE_FIRING) continue;
    auto k = std::make_tuple(a.model(), a.policy(), SeverityLabel(a.severity()));
    ++firing[k];
    gauge_keys_.insert(k);
  }
  for (const auto& [k, n] : firing) {
    gauges_->SetFiring(std::get<0>(k), std::get<1>(k), std::get<2>(k), n);
  }
}

}  // namespace mlops::monitoring
