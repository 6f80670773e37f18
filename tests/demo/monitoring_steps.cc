// The monitoring and retraining steps of the closed loop (see loop_steps.h).

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "tests/demo/loop_steps.h"

namespace mlops::demo {
namespace {

namespace mv1 = ::mlops::monitoring::v1;
namespace tv1 = ::mlops::training::v1;

}  // namespace

absl::Status CreateRetrainTrigger(PlatformClient& platform, const tv1::TrainingJobSpec& job) {
  tv1::CreatePipelineTriggerRequest request;
  tv1::PipelineTrigger* trigger = request.mutable_trigger();
  trigger->set_name(kRetrainTrigger);
  trigger->set_kind(tv1::TRIGGER_KIND_MONITORING_ALERT);
  trigger->set_model_name(kModel);
  *trigger->mutable_job() = job;
  trigger->set_description("Retrain the fraud model when monitoring sees drift.");
  // One retraining per half hour at most: the retrained version gets its own
  // reference and may alert again while the drift lasts; without a cooldown
  // every such alert would start another job.
  trigger->set_cooldown_micros(absl::ToInt64Microseconds(absl::Minutes(30)));
  tv1::PipelineTrigger created;
  auto context = platform.Context();
  return CheckRpc(platform.training().CreatePipelineTrigger(context.get(), request, &created),
               "CreatePipelineTrigger");
}

absl::StatusOr<mv1::Reference> AwaitAutomaticReference(PlatformClient& platform, int64_t version,
                                                        absl::Duration timeout) {
  mv1::GetReferenceRequest request;
  request.set_model(kModel);
  request.set_version(version);
  const absl::Time give_up = absl::Now() + timeout;
  absl::Status last = absl::NotFoundError("not asked yet");
  while (absl::Now() < give_up) {
    mv1::Reference reference;
    auto context = platform.Context();
    last = CheckRpc(platform.monitoring().GetReference(context.get(), request, &reference),
                 "GetReference");
    if (last.ok()) {
      if (reference.automatic()) return reference;
      return absl::FailedPreconditionError(
          absl::StrCat("the reference of ", kModel, "@", version, " was set by ",
                       reference.set_by(), ", not by monitoring"));
    }
    if (!absl::IsNotFound(last)) return last;
    absl::SleepFor(absl::Milliseconds(500));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "monitoring set no reference of ", kModel, "@", version, " within ",
      absl::FormatDuration(timeout), " of its promotion (last: ", last.ToString(), ")"));
}

absl::Status ConfigureMonitoring(PlatformClient& platform, absl::Duration window,
                                 int64_t min_samples) {
  mv1::SetMonitoringConfigRequest config;
  config.mutable_config()->set_model(kModel);
  config.mutable_config()->set_window_micros(absl::ToInt64Microseconds(window));
  mv1::MonitoringConfig stored;
  {
    auto context = platform.Context();
    MLOPS_RETURN_IF_ERROR(CheckRpc(platform.monitoring().SetMonitoringConfig(context.get(), config, &stored),
                                "SetMonitoringConfig"));
  }
  mv1::SetAlertPolicyRequest request;
  mv1::AlertPolicy* policy = request.mutable_policy();
  policy->set_model(kModel);
  policy->set_name("amount_drift");
  policy->set_metric(mv1::ALERT_METRIC_FEATURE_DRIFT);
  policy->set_feature("last_amount");
  policy->set_comparison(mv1::COMPARISON_GREATER_OR_EQUAL);
  // Its drift statistic (normalised Wasserstein) stays near 0.1 in calm windows.
  policy->set_threshold(0.5);
  policy->set_window_micros(absl::ToInt64Microseconds(window));
  policy->set_for_micros(0);
  policy->set_min_samples(min_samples);
  policy->set_severity(mv1::SEVERITY_CRITICAL);
  policy->set_description("Purchase amounts no longer look like the training data: retrain.");
  policy->add_actions()->mutable_retrain()->set_trigger_id(kRetrainTrigger);
  mv1::AlertPolicy created;
  auto context = platform.Context();
  return CheckRpc(platform.monitoring().SetAlertPolicy(context.get(), request, &created),
               "SetAlertPolicy");
}

absl::StatusOr<std::vector<mv1::Alert>> FiringAlerts(PlatformClient& platform) {
  mv1::ListAlertsRequest request;
  request.set_model(kModel);
  request.add_states(mv1::ALERT_STATE_FIRING);
  request.add_states(mv1::ALERT_STATE_RESOLVED);
  mv1::ListAlertsResponse response;
  auto context = platform.Context();
  MLOPS_RETURN_IF_ERROR(CheckRpc(platform.monitoring().ListAlerts(context.get(), request, &response),
                              "ListAlerts"));
  std::vector<mv1::Alert> fired;
  for (const mv1::Alert& a : response.alerts()) {
    if (a.fired_at_micros() != 0) fired.push_back(a);
  }
  return fired;
}

absl::StatusOr<std::vector<tv1::TrainingJob>> RetrainJobs(PlatformClient& platform) {
  tv1::ListJobsRequest request;
  request.set_trigger_name(kRetrainTrigger);
  tv1::ListJobsResponse response;
  auto context = platform.Context();
  MLOPS_RETURN_IF_ERROR(CheckRpc(platform.training().ListJobs(context.get(), request, &response),
                              "ListJobs"));
  return std::vector<tv1::TrainingJob>(response.jobs().begin(), response.jobs().end());
}

absl::StatusOr<inference::v1::Rollout> EndpointRollout(PlatformClient& platform) {
  inference::v1::GetRolloutRequest request;
  request.set_endpoint(kEndpoint);
  inference::v1::Rollout rollout;
  auto context = platform.Context();
  MLOPS_RETURN_IF_ERROR(CheckRpc(platform.gateway().GetRollout(context.get(), request, &rollout),
                              "GetRollout"));
  return rollout;
}

}  // namespace mlops::demo
