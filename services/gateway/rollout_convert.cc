#include "services/gateway/rollout_convert.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace mlops::gateway {
namespace {

namespace rv1 = ::mlops::registry::v1;
namespace iv1 = ::mlops::inference::v1;
constexpr int64_t kSecond = 1'000'000;

absl::Status Percent(double p, const std::string& field, bool allow_100 = true) {
  if (!(p > 0) || p > 100 || (!allow_100 && p >= 100)) {
    return absl::InvalidArgumentError(absl::StrCat("spec.", field, ": ", p, " outside (0, 100",
                                                   allow_100 ? "]" : ")"));
  }
  return absl::OkStatus();
}

absl::Status Window(int64_t w, const std::string& field, bool allow_zero = false) {
  if ((allow_zero && w == 0) || w >= kSecond) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("spec.", field, ": ", w, " us is under 1 s"));
}

int64_t OrHundred(int64_t n) { return n == 0 ? 100 : n; }

}  // namespace

absl::StatusOr<RolloutPlan> PlanFromSpec(const rv1::RolloutSpec& spec) {
  RolloutPlan plan;
  const rv1::AnalysisThresholds& t = spec.thresholds();
  if (t.max_error_rate() < 0 || t.max_error_rate() > 1) {
    return absl::InvalidArgumentError("spec.thresholds.max_error_rate: outside [0, 1]");
  }
  if (t.max_p99_latency_micros() < 0 || t.max_prediction_shift() < 0 || t.min_requests() < 0) {
    return absl::InvalidArgumentError("spec.thresholds: negative threshold");
  }
  plan.thresholds.max_error_rate = t.max_error_rate();
  plan.thresholds.max_p99_latency_micros = t.max_p99_latency_micros();
  plan.thresholds.max_prediction_shift = t.max_prediction_shift();
  plan.thresholds.min_requests = OrHundred(t.min_requests());
  switch (t.prediction_shift_metric()) {
    case rv1::PREDICTION_SHIFT_METRIC_JENSEN_SHANNON: plan.thresholds.shift_metric = ShiftMetric::kJensenShannon; break;
    case rv1::PREDICTION_SHIFT_METRIC_KS: plan.thresholds.shift_metric = ShiftMetric::kKs; break;
    default: plan.thresholds.shift_metric = ShiftMetric::kPsi; break;
  }
  plan.auto_rollback = !spec.disable_auto_rollback();
  auto mismatch = [](const char* want) {
    return absl::InvalidArgumentError(absl::StrCat("spec: strategy needs the ", want, " config"));
  };
  switch (spec.strategy()) {
    case rv1::ROLLOUT_STRATEGY_CANARY: {
      if (!spec.has_canary()) return mismatch("canary");
      plan.strategy = Strategy::kCanary;
      const auto& steps = spec.canary().steps();
      if (steps.empty() || steps.size() > 20) {
        return absl::InvalidArgumentError("spec.canary.steps: 1 to 20 steps");
      }
      double last = 0;
      for (int i = 0; i < steps.size(); ++i) {
        const std::string field = absl::StrCat("canary.steps[", i, "]");
        if (absl::Status s = Percent(steps[i].percent(), field + ".percent"); !s.ok()) return s;
        if (steps[i].percent() <= last) {
          return absl::InvalidArgumentError(absl::StrCat("spec.", field, ".percent: not increasing"));
        }
        last = steps[i].percent();
        if (absl::Status s = Window(steps[i].analysis_window_micros(), field + ".analysis_window_micros");
            !s.ok()) {
          return s;
        }
        plan.steps.push_back({steps[i].percent(), steps[i].analysis_window_micros(),
                              OrHundred(steps[i].min_requests())});
      }
      if (last != 100) return absl::InvalidArgumentError("spec.canary.steps: the last step must be 100");
      break;
    }
    case rv1::ROLLOUT_STRATEGY_SHADOW: {
      if (!spec.has_shadow()) return mismatch("shadow");
      const rv1::ShadowConfig& c = spec.shadow();
      plan.strategy = Strategy::kShadow;
      if (absl::Status s = Percent(c.mirror_percent(), "shadow.mirror_percent"); !s.ok()) return s;
      if (absl::Status s = Window(c.analysis_window_micros(), "shadow.analysis_window_micros"); !s.ok()) {
        return s;
      }
      if (c.min_agreement_rate() < 0 || c.min_agreement_rate() > 1 || c.agreement_tolerance() < 0 ||
          c.max_mean_abs_diff() < 0) {
        return absl::InvalidArgumentError("spec.shadow: agreement rate outside [0, 1] or negative limit");
      }
      plan.mirror_percent = c.mirror_percent();
      plan.window_micros = c.analysis_window_micros();
      plan.min_agreement_rate = c.min_agreement_rate();
      plan.agreement_tolerance = c.agreement_tolerance() == 0 ? 1e-6 : c.agreement_tolerance();
      plan.max_mean_abs_diff = c.max_mean_abs_diff();
      plan.promote_on_success = c.promote_on_success();
      break;
    }
    case rv1::ROLLOUT_STRATEGY_AB: {
      if (!spec.has_ab()) return mismatch("ab");
      plan.strategy = Strategy::kAb;
      if (absl::Status s = Percent(spec.ab().candidate_percent(), "ab.candidate_percent", false);
          !s.ok()) {
        return s;
      }
      if (absl::Status s = Window(spec.ab().analysis_window_micros(), "ab.analysis_window_micros");
          !s.ok()) {
        return s;
      }
      plan.ab_percent = spec.ab().candidate_percent();
      plan.ab_salt = spec.ab().hash_salt();
      plan.window_micros = spec.ab().analysis_window_micros();
      plan.min_requests = OrHundred(spec.ab().min_requests());
      break;
    }
    case rv1::ROLLOUT_STRATEGY_BLUE_GREEN: {
      plan.strategy = Strategy::kBlueGreen;
      if (spec.config_case() != rv1::RolloutSpec::kBlueGreen &&
          spec.config_case() != rv1::RolloutSpec::CONFIG_NOT_SET) {
        return mismatch("blue_green");
      }
      if (absl::Status s = Window(spec.blue_green().analysis_window_micros(),
                                  "blue_green.analysis_window_micros", true);
          !s.ok()) {
        return s;
      }
      plan.window_micros = spec.blue_green().analysis_window_micros();
      break;
    }
    default:
      return absl::InvalidArgumentError("spec.strategy: unspecified");
  }
  return plan;
}

absl::StatusOr<RolloutPlan> PlanFromSpecBytes(const std::string& bytes) {
  rv1::RolloutSpec spec;
  if (!spec.ParseFromString(bytes)) return absl::DataLossError("stored rollout spec does not parse");
  return PlanFromSpec(spec);
}

absl::StatusOr<DesiredEndpoint> DesiredFromProto(const rv1::EndpointDeployment& d) {
  DesiredEndpoint out;
  out.endpoint = d.endpoint();
  out.model = d.model();
  for (const rv1::ServedVersion& v : d.versions()) {
    if (v.role() == rv1::SERVED_VERSION_ROLE_PRIMARY) out.primary_version = v.version();
  }
  const rv1::DeploymentRollout& r = d.rollout();
  if (r.rollout_id().empty()) return out;
  absl::StatusOr<RolloutPlan> plan = PlanFromSpec(r.spec());
  if (!plan.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("rollout ", r.rollout_id(), ": ", plan.status().message()));
  }
  out.plan = *plan;
  RolloutRecord rec;
  rec.rollout_id = r.rollout_id();
  rec.endpoint = d.endpoint();
  rec.model = d.model();
  rec.origin = r.origin();
  rec.spec_bytes = r.spec().SerializeAsString();
  rec.primary_version = r.primary_version();
  rec.candidate_version = r.candidate_version();
  rec.state = r.state() == rv1::ROLLOUT_STATE_UNSPECIFIED ? RolloutState::kPending
                                                          : static_cast<RolloutState>(r.state());
  rec.step = r.current_step();
  rec.started_at_micros = r.started_at_micros();
  rec.step_started_at_micros = r.updated_at_micros();
  rec.started_by = r.started_by();
  // The registry's reason is why the rollout started until it is rolled
  // back, then why it was rolled back.
  if (rec.state == RolloutState::kRolledBack) rec.rollback_reason = r.reason();
  out.rollout = std::move(rec);
  return out;
}

namespace {

void StatsToProto(iv1::Variant variant, int64_t version, const VariantSnapshot& v,
                  double percent, double shift, iv1::VariantStats* out) {
  out->set_variant(variant);
  out->set_version(version);
  out->set_requests(v.requests);
  out->set_errors(v.errors);
  out->set_error_rate(v.error_rate);
  out->set_p50_latency_micros(v.p50_latency_micros);
  out->set_p99_latency_micros(v.p99_latency_micros);
  out->set_mean_score(v.mean_score);
  out->set_prediction_shift(shift);
  out->set_quality(std::numeric_limits<double>::quiet_NaN());
  out->set_traffic_percent(percent);
}

}  // namespace

void RolloutToProto(const Serving& s, const AnalysisResult& analysis, const std::string& gateway_id,
                    iv1::Rollout* out) {
  const RolloutRecord& r = *s.rollout;
  out->set_rollout_id(r.rollout_id);
  out->set_endpoint(r.endpoint);
  out->set_model(r.model);
  out->set_origin(static_cast<rv1::RolloutOrigin>(r.origin));
  out->mutable_spec()->ParseFromString(r.spec_bytes);
  out->set_primary_version(r.primary_version);
  out->set_candidate_version(r.candidate_version);
  out->set_state(static_cast<rv1::RolloutState>(static_cast<int>(r.state)));
  out->set_current_step(r.step);
  const double percent = CandidatePercent(s.plan, r.state, r.step);
  out->set_candidate_percent(percent);
  out->set_step_started_at_micros(r.step_started_at_micros);
  out->set_step_ends_at_micros(r.step_started_at_micros + StepWindowMicros(s.plan, r.step));
  out->set_started_at_micros(r.started_at_micros);
  out->set_finished_at_micros(r.finished_at_micros);
  out->set_started_by(r.started_by);
  out->set_rollback_reason(r.rollback_reason);
  out->set_gateway_id(gateway_id);
  const VariantSnapshot primary = s.stats->primary.Snapshot();
  StatsToProto(iv1::VARIANT_PRIMARY, r.primary_version, primary, 100 - percent, 0,
               out->add_variants());
  const bool shadow = s.plan.strategy == Strategy::kShadow;
  const VariantSnapshot cand = shadow ? s.stats->shadow.Snapshot() : s.stats->candidate.Snapshot();
  StatsToProto(shadow ? iv1::VARIANT_SHADOW : iv1::VARIANT_CANDIDATE, r.candidate_version, cand,
               percent, PredictionShift(s.plan.thresholds.shift_metric, primary.scores, cand.scores),
               out->add_variants());
  if (shadow) {
    const ShadowSnapshot sh = s.stats->comparison.Snapshot();
    iv1::ShadowStats* p = out->mutable_shadow();
    p->set_compared(sh.compared);
    p->set_agreement_rate(sh.agreement_rate);
    p->set_mean_abs_diff(sh.mean_abs_diff);
    p->set_max_abs_diff(sh.max_abs_diff);
    p->set_errors(sh.errors);
    p->set_dropped(sh.dropped);
  }
  for (const CheckResult& c : analysis.checks) {
    iv1::AnalysisCheck* p = out->add_analysis();
    p->set_name(c.name);
    p->set_measured(c.measured);
    p->set_limit(c.limit);
    p->set_evaluated(c.evaluated);
    p->set_passed(c.passed);
    p->set_message(c.message);
  }
}

void EndpointToProto(const Serving& s, iv1::Endpoint* out) {
  out->set_name(s.endpoint);
  out->set_model(s.model);
  out->set_primary_version(s.primary->info.version);
  out->set_ready(true);
  out->set_generation(s.generation);
  auto add = [&](const std::shared_ptr<const LoadedModel>& m, rv1::ServedVersionRole role) {
    if (m == nullptr) return;
    iv1::LoadedVersion* v = out->add_versions();
    v->set_version(m->info.version);
    v->set_role(role);
    v->set_artifact_sha256(m->info.artifact_sha256);
    v->set_state(iv1::LOAD_STATE_READY);
    v->set_loaded_at_micros(m->loaded_at_micros);
    v->set_runtime(m->model->runtime());
  };
  add(s.primary, rv1::SERVED_VERSION_ROLE_PRIMARY);
  add(s.candidate, rv1::SERVED_VERSION_ROLE_CANDIDATE);
  add(s.previous, rv1::SERVED_VERSION_ROLE_PREVIOUS);
  if (s.rollout) {
    const RolloutRecord& r = *s.rollout;
    if (IsActive(r.state)) out->set_candidate_version(r.candidate_version);
    out->set_strategy(static_cast<rv1::RolloutStrategy>(static_cast<int>(s.plan.strategy)));
    out->set_rollout_state(static_cast<rv1::RolloutState>(static_cast<int>(r.state)));
    out->set_candidate_percent(CandidatePercent(s.plan, r.state, r.step));
  }
}

}  // namespace mlops::gateway
