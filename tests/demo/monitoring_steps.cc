// The monitoring and retraining steps of the closed loop (see loop_steps.h).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "tests/demo/loop_steps.h"

namespace mlops::demo {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace fv1 = ::mlops::features::v1;
namespace mv1 = ::mlops::monitoring::v1;
namespace rv1 = ::mlops::registry::v1;
namespace tv1 = ::mlops::training::v1;

constexpr int64_t kReferenceRows = 50000;

absl::Status Check(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return absl::OkStatus();
  absl::Status s = FromGrpcStatus(status);
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

}  // namespace

absl::Status CreateRetrainTrigger(PlatformClient& platform, const tv1::TrainingJobSpec& job) {
  tv1::CreatePipelineTriggerRequest request;
  tv1::PipelineTrigger* trigger = request.mutable_trigger();
  trigger->set_name(kRetrainTrigger);
  trigger->set_kind(tv1::TRIGGER_KIND_MONITORING_ALERT);
  trigger->set_model_name(kModel);
  *trigger->mutable_job() = job;
  trigger->set_description("Retrain the fraud model when monitoring sees drift.");
  tv1::PipelineTrigger created;
  auto context = platform.Context();
  return Check(platform.training().CreatePipelineTrigger(context.get(), request, &created),
               "CreatePipelineTrigger");
}

absl::Status SetReferenceFromTrainingData(PlatformClient& platform, int64_t version,
                                          int64_t from_micros) {
  rv1::GetModelVersionRequest get;
  get.set_model(kModel);
  get.set_version(version);
  rv1::ModelVersion model;
  {
    auto context = platform.Context();
    MLOPS_RETURN_IF_ERROR(Check(platform.registry().GetModelVersion(context.get(), get, &model),
                                "GetModelVersion"));
  }
  // The model's inputs as of each training row, computed the way serving computes them.
  fv1::GetHistoricalFeaturesRequest request;
  request.mutable_dataset()->set_dataset(kDataset);
  request.mutable_dataset()->set_version_id(model.lineage().training_dataset_version());
  request.mutable_dataset()->add_columns("customer_id");
  request.mutable_dataset()->add_columns("ts");
  request.set_entity_key_column("customer_id");
  request.set_timestamp_column("ts");
  for (const rv1::SignatureInput& input : model.signature().inputs()) {
    request.add_feature_refs(input.feature_ref());
  }
  auto context = platform.Context(std::chrono::milliseconds(300000));
  auto reader = platform.features().GetHistoricalFeatures(context.get(), request);
  mv1::SetReferenceRequest reference;
  reference.set_model(kModel);
  reference.set_version(version);
  mv1::InlineRows* rows = reference.mutable_rows();
  for (const rv1::SignatureInput& input : model.signature().inputs()) {
    cv1::Column* c = rows->mutable_schema()->add_columns();
    c->set_name(input.name());
    c->set_type(input.type());
    c->set_nullable(true);
  }
  fv1::GetHistoricalFeaturesResponse message;
  int skip = 0;  // the pass-through columns come first
  int64_t stride = 1;  // an even sample within the reference's row limit
  int64_t index = 0;
  while (reader->Read(&message)) {
    if (message.has_header()) {
      skip = message.header().schema().columns_size() - model.signature().inputs_size();
      stride = std::max<int64_t>(1, (message.header().row_count() + kReferenceRows - 1) / kReferenceRows);
      continue;
    }
    for (const cv1::Row& row : message.chunk().rows()) {
      if (index++ % stride != 0) continue;
      if (row.values(1).timestamp_micros() < from_micros) continue;  // ts is the second column
      cv1::Row* out = rows->add_rows();
      for (int i = skip; i < row.values_size(); ++i) *out->add_values() = row.values(i);
    }
  }
  MLOPS_RETURN_IF_ERROR(Check(reader->Finish(), "GetHistoricalFeatures"));
  mv1::Reference stored;
  auto set_context = platform.Context(std::chrono::milliseconds(120000));
  return Check(platform.monitoring().SetReference(set_context.get(), reference, &stored),
               "SetReference");
}

absl::Status ConfigureMonitoring(PlatformClient& platform, absl::Duration window) {
  mv1::SetMonitoringConfigRequest config;
  config.mutable_config()->set_model(kModel);
  config.mutable_config()->set_window_micros(absl::ToInt64Microseconds(window));
  mv1::MonitoringConfig stored;
  {
    auto context = platform.Context();
    MLOPS_RETURN_IF_ERROR(Check(platform.monitoring().SetMonitoringConfig(context.get(), config, &stored),
                                "SetMonitoringConfig"));
  }
  mv1::SetAlertPolicyRequest request;
  mv1::AlertPolicy* policy = request.mutable_policy();
  policy->set_model(kModel);
  policy->set_name("amount_drift");
  policy->set_metric(mv1::ALERT_METRIC_FEATURE_DRIFT);
  policy->set_feature("last_amount");
  policy->set_comparison(mv1::COMPARISON_GREATER_OR_EQUAL);
  policy->set_threshold(0.5);  // its drift statistic (normalised Wasserstein): calm windows stay near 0.1
  policy->set_window_micros(absl::ToInt64Microseconds(window));
  policy->set_for_micros(0);
  policy->set_min_samples(100);
  policy->set_severity(mv1::SEVERITY_CRITICAL);
  policy->set_description("Purchase amounts no longer look like the training data: retrain.");
  policy->add_actions()->mutable_retrain()->set_trigger_id(kRetrainTrigger);
  mv1::AlertPolicy created;
  auto context = platform.Context();
  return Check(platform.monitoring().SetAlertPolicy(context.get(), request, &created),
               "SetAlertPolicy");
}

absl::StatusOr<std::vector<mv1::Alert>> FiringAlerts(PlatformClient& platform) {
  mv1::ListAlertsRequest request;
  request.set_model(kModel);
  request.add_states(mv1::ALERT_STATE_FIRING);
  request.add_states(mv1::ALERT_STATE_RESOLVED);
  mv1::ListAlertsResponse response;
  auto context = platform.Context();
  MLOPS_RETURN_IF_ERROR(Check(platform.monitoring().ListAlerts(context.get(), request, &response),
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
  MLOPS_RETURN_IF_ERROR(Check(platform.training().ListJobs(context.get(), request, &response),
                              "ListJobs"));
  return std::vector<tv1::TrainingJob>(response.jobs().begin(), response.jobs().end());
}

absl::StatusOr<inference::v1::Rollout> EndpointRollout(PlatformClient& platform) {
  inference::v1::GetRolloutRequest request;
  request.set_endpoint(kEndpoint);
  inference::v1::Rollout rollout;
  auto context = platform.Context();
  MLOPS_RETURN_IF_ERROR(Check(platform.gateway().GetRollout(context.get(), request, &rollout),
                              "GetRollout"));
  return rollout;
}

}  // namespace mlops::demo
