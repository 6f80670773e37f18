// The watched phases of the closed-loop demo (see loop_phases.h).
#include "tests/demo/loop_phases.h"

#include <cstdio>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"
#include "tests/demo/loop_steps.h"

namespace mlops::demo {
namespace {

namespace rv1 = ::mlops::registry::v1;
namespace tv1 = ::mlops::training::v1;

constexpr absl::Duration kPoll = absl::Milliseconds(500);
// The worse candidate's odds multiplier, and the canary guard that must catch it.
constexpr double kScalePosWeight = 50;
constexpr double kMaxPredictionPsi = 0.25;  // PSI above 0.25: "a significant shift", by convention
constexpr int64_t kGuardMinRequests = 20;

absl::Time FromMicros(int64_t micros) {
  return micros == 0 ? absl::InfinitePast() : absl::FromUnixMicros(micros);
}

double TestAuc(const tv1::TrainingJob& job) {
  auto it = job.best_test_metrics().find("test_auc");
  return it == job.best_test_metrics().end() ? 0 : it->second;
}

// The retraining job the alert started, once it finished; nullopt while it runs.
absl::StatusOr<std::optional<tv1::TrainingJob>> FinishedRetrain(PlatformClient& platform,
                                                                 const std::string& alert_id) {
  auto jobs = RetrainJobs(platform);
  if (!jobs.ok()) return std::optional<tv1::TrainingJob>();
  for (const tv1::TrainingJob& j : *jobs) {
    if (j.cause().alert_id() != alert_id) continue;
    if (j.state() == tv1::JOB_STATE_FAILED || j.state() == tv1::JOB_STATE_CANCELLED) {
      return absl::AbortedError(absl::StrCat("retraining job ", j.id(), ": ", j.failure_reason()));
    }
    if (j.state() == tv1::JOB_STATE_SUCCEEDED) return std::optional<tv1::TrainingJob>(j);
  }
  return std::optional<tv1::TrainingJob>();
}

}  // namespace

void Narrator::Say(const std::string& text) const {
  const int64_t s = absl::ToInt64Seconds(absl::Now() - start_);
  std::printf("[%02lld:%02lld] %s\n", static_cast<long long>(s / 60),
              static_cast<long long>(s % 60), text.c_str());
  std::fflush(stdout);
}

std::string VersionCounts(const LiveTraffic::Stats& stats) {
  std::string out;
  for (const auto& [version, rows] : stats.scored_by_version) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", "v", version, ": ", rows);
  }
  return out;
}

std::string Between(absl::Time from, absl::Time to) {
  if (from == absl::InfinitePast() || to == absl::InfinitePast()) return "-";
  return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(to - from));
}

absl::Status CloseTheLoop(const LoopContext& loop, TransactionGenerator& generator,
                          Timeline* t) {
  generator.Drift();
  t->drifted_at = absl::Now();
  loop.narrator.Say("5. DRIFT: amounts x2.5; fraud moves to bursts of small gift-card purchases");
  std::string alert_id;
  while (absl::Now() < loop.give_up) {
    (void)loop.traffic.Tick();
    if (alert_id.empty()) {
      auto alerts = FiringAlerts(loop.platform);
      for (const auto& alert : alerts.ok() ? *alerts : std::vector<monitoring::v1::Alert>{}) {
        if (alert.fired_at_micros() < absl::ToUnixMicros(t->drifted_at)) continue;
        t->alert_at = FromMicros(alert.fired_at_micros());
        alert_id = alert.id();
        loop.narrator.Say(absl::StrCat("6. ALERT ", alert.id(), " fired ",
                                       Between(t->drifted_at, t->alert_at),
                                       " after the drift: ", alert.summary()));
        break;
      }
      absl::SleepFor(kPoll);
      continue;
    }
    if (t->second == 0) {
      auto job = FinishedRetrain(loop.platform, alert_id);
      if (!job.ok()) return job.status();
      if (job->has_value()) {
        const tv1::TrainingJob& j = **job;
        t->second = j.registration().version();
        t->second_auc = TestAuc(j);
        t->retrained_at = FromMicros(j.finished_at_micros());
        loop.narrator.Say(absl::StrFormat(
            "   retrained by the alert (job %s, cause: %s): fraud@%d, test AUC %.3f, %s after the "
            "alert (%s)",
            j.id(), j.cause().reason(), t->second, t->second_auc, Between(t->alert_at, t->retrained_at),
            JobTimes(j)));
        if (!j.registration().transition_granted()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "the gate of the retrained model: ", j.registration().transition_detail()));
        }
        loop.narrator.Say(absl::StrCat(
            "   the training job asked for production itself; the retrain gate (no approval) said ",
            j.registration().transition_detail(), "; the registry starts the endpoint's canary"));
        auto cc = ChampionChallengerLine(loop.platform, t->second);
        loop.narrator.Say(absl::StrCat("   ", cc.ok() ? *cc : std::string(cc.status().message())));
      }
    }
    auto rollout = EndpointRollout(loop.platform);
    if (rollout.ok() && rollout->candidate_version() > t->first &&
        (t->second == 0 || rollout->candidate_version() == t->second)) {
      if (rollout->state() == rv1::ROLLOUT_STATE_IN_PROGRESS && t->canary_at == absl::InfinitePast()) {
        t->canary_at = absl::Now();
        loop.narrator.Say(absl::StrCat("   canary IN_PROGRESS: fraud@", rollout->candidate_version(),
                                       " serves ", rollout->candidate_percent(), " % of traffic, ",
                                       Between(t->alert_at, t->canary_at), " after the alert"));
      }
      if (rollout->state() == rv1::ROLLOUT_STATE_ROLLED_BACK) {
        return absl::AbortedError(absl::StrCat("the canary of fraud@", rollout->candidate_version(),
                                               " rolled back: ", rollout->rollback_reason()));
      }
      if (rollout->state() == rv1::ROLLOUT_STATE_COMPLETED && t->second != 0) {
        if (t->canary_at == absl::InfinitePast()) t->canary_at = FromMicros(rollout->started_at_micros());
        t->promoted_at = rollout->finished_at_micros() != 0 ? FromMicros(rollout->finished_at_micros())
                                                            : absl::Now();
        loop.narrator.Say(absl::StrCat("   canary COMPLETED: fraud@", t->second,
                                       " serves all traffic (", VersionCounts(loop.traffic.stats()),
                                       ")"));
        return absl::OkStatus();
      }
    }
    absl::SleepFor(kPoll);
  }
  return absl::DeadlineExceededError("the loop did not close in time");
}

absl::Status RollBackWorseCandidate(const LoopContext& loop, Timeline* t) {
  MLOPS_RETURN_IF_ERROR(GuardCanary(loop.platform, absl::Seconds(5), kMaxPredictionPsi,
                                    kGuardMinRequests));
  loop.narrator.Say(absl::StrFormat(
      "   second variant: canaries are now judged live against the primary (prediction PSI <= %g, "
      "error rate <= 5 %%, from %d candidate requests); a breach rolls back at once",
      kMaxPredictionPsi, kGuardMinRequests));
  auto submitted = SubmitTrainingJob(loop.platform, MiscalibratedJobSpec(kScalePosWeight));
  if (!submitted.ok()) return submitted.status();
  loop.narrator.Say(absl::StrFormat(
      "   a deliberately worse candidate: job %s, one trial with scale_pos_weight=%g (fraud odds "
      "inflated %gx: ranking kept, probabilities wrong); it asks for production itself",
      submitted->id(), kScalePosWeight, kScalePosWeight));
  while (absl::Now() < loop.give_up) {
    (void)loop.traffic.Tick();
    if (t->third == 0) {
      auto job = GetTrainingJob(loop.platform, submitted->id());
      if (job.ok() && job->state() == tv1::JOB_STATE_FAILED) {
        return absl::AbortedError(absl::StrCat("the worse candidate's job: ", job->failure_reason()));
      }
      if (job.ok() && job->state() == tv1::JOB_STATE_SUCCEEDED) {
        t->third = job->registration().version();
        loop.narrator.Say(absl::StrFormat(
            "   fraud@%d: test AUC %.3f (fraud@%d: %.3f); offline gate: %s", t->third, TestAuc(*job),
            t->second, t->second_auc, job->registration().transition_detail()));
        if (!job->registration().transition_granted()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "the worse candidate did not pass the offline gate, so no canary could judge it: ",
              job->registration().transition_detail()));
        }
        auto cc = ChampionChallengerLine(loop.platform, t->third);
        loop.narrator.Say(absl::StrCat("   ", cc.ok() ? *cc : std::string(cc.status().message())));
      }
    }
    auto rollout = EndpointRollout(loop.platform);
    if (t->third != 0 && rollout.ok() && rollout->candidate_version() == t->third) {
      if (rollout->state() == rv1::ROLLOUT_STATE_IN_PROGRESS &&
          t->worse_canary_at == absl::InfinitePast()) {
        t->worse_canary_at = FromMicros(rollout->started_at_micros());
      }
      if (rollout->state() == rv1::ROLLOUT_STATE_COMPLETED) {
        return absl::FailedPreconditionError(
            absl::StrCat("the worse candidate fraud@", t->third, " was promoted"));
      }
      if (rollout->state() == rv1::ROLLOUT_STATE_ROLLED_BACK) {
        if (t->worse_canary_at == absl::InfinitePast()) {
          t->worse_canary_at = FromMicros(rollout->started_at_micros());
        }
        t->worse_rolled_back_at = rollout->finished_at_micros() != 0
                                      ? FromMicros(rollout->finished_at_micros())
                                      : absl::Now();
        t->worse_reason = rollout->rollback_reason();
        loop.narrator.Say(absl::StrCat("   ROLLED BACK automatically: fraud@", t->third, " after ",
                                       Between(t->worse_canary_at, t->worse_rolled_back_at),
                                       " on canary: ", t->worse_reason));
        // The gateway reports the rollback to the registry (RecordDeploymentEvent),
        // which then puts the primary back in production: wait for it, bounded.
        absl::StatusOr<int64_t> production = ProductionVersion(loop.platform);
        const absl::Time wait_until = absl::Now() + absl::Seconds(15);
        while (production.ok() && *production != t->second && absl::Now() < wait_until) {
          absl::SleepFor(kPoll);
          production = ProductionVersion(loop.platform);
        }
        if (!production.ok()) return production.status();
        if (*production != t->second) {
          return absl::FailedPreconditionError(absl::StrCat(
              "15 s after the rollback the registry has fraud@", *production,
              " in production, not fraud@", t->second));
        }
        loop.narrator.Say(absl::StrCat("   production stays at fraud@", t->second, " (",
                                       VersionCounts(loop.traffic.stats()), ")"));
        return absl::OkStatus();
      }
    }
    absl::SleepFor(kPoll);
  }
  return absl::DeadlineExceededError("the worse candidate was not rolled back in time");
}

void PrintTimeline(const Narrator& narrator, const Timeline& t, const std::string& prometheus_url) {
  narrator.Say("7. TIMELINE (goals: drift -> alert <= 15 s; alert -> retrained, gated model on canary <= 60 s)");
  narrator.Say(absl::StrCat("   drift onset -> alert fired:                  ",
                            Between(t.drifted_at, t.alert_at)));
  narrator.Say(absl::StrCat("   alert -> fraud@", t.second, " trained, registered, gated:  ",
                            Between(t.alert_at, t.retrained_at)));
  narrator.Say(absl::StrCat("   alert -> fraud@", t.second, " serving canary:              ",
                            Between(t.alert_at, t.canary_at)));
  narrator.Say(absl::StrCat("   canary -> promoted (serves all traffic):      ",
                            Between(t.canary_at, t.promoted_at)));
  narrator.Say(absl::StrCat("   drift onset -> promoted:                      ",
                            Between(t.drifted_at, t.promoted_at)));
  if (t.third != 0) {
    narrator.Say(absl::StrCat("   worse candidate fraud@", t.third, ": canary -> rolled back: ",
                              Between(t.worse_canary_at, t.worse_rolled_back_at)));
  }
  narrator.Say(absl::StrCat("   model card: mlopsctl models card fraud ", t.second,
                            "   (lineage back to the dataset version, the alert that retrained it)"));
  if (prometheus_url.empty()) {
    narrator.Say("   Prometheus: none started (scripts/run-local.sh starts one when /usr/bin/prometheus exists)");
    return;
  }
  narrator.Say(absl::StrCat("   Prometheus: ", prometheus_url, "/graph, for example:"));
  narrator.Say("     mlops_monitoring_drift_score{model=\"fraud\",feature=\"last_amount\"}   (the drift that fired the alert)");
  narrator.Say("     sum by (version) (rate(mlops_gateway_predictions_total{endpoint=\"fraud_api\"}[30s]))   (the canaries' traffic)");
  narrator.Say("     mlops_gateway_rollbacks_total{endpoint=\"fraud_api\"}   (the worse candidate's automatic rollback)");
}

}  // namespace mlops::demo
