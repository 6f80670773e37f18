// The training, registry and serving steps of the closed loop (see loop_steps.h).
#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "tests/demo/loop_steps.h"

namespace mlops::demo {
namespace {

namespace tv1 = ::mlops::training::v1;
namespace rv1 = ::mlops::registry::v1;
namespace inv1 = ::mlops::inference::v1;

// The transition's checks as "name measured" pairs, or an error when not granted.
absl::StatusOr<std::string> Transition(PlatformClient& platform, int64_t version, rv1::Stage stage) {
  rv1::RequestTransitionRequest request;
  request.mutable_version()->set_model(kModel);
  request.mutable_version()->set_version(version);
  request.set_target_stage(stage);
  request.set_reason("closed loop: gate passed");
  rv1::TransitionRequest response;
  auto context = platform.Context(std::chrono::milliseconds(120000));
  MLOPS_RETURN_IF_ERROR(CheckRpc(platform.registry().RequestTransition(context.get(), request, &response),
                              absl::StrCat("RequestTransition ", rv1::Stage_Name(stage))));
  if (response.status() != rv1::TRANSITION_STATUS_GRANTED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "transition of ", kModel, "@", version, " to ", rv1::Stage_Name(stage), " is ",
        rv1::TransitionStatus_Name(response.status())));
  }
  std::string checks;
  for (const rv1::CheckResult& c : response.gate_report().checks()) {
    absl::StrAppend(&checks, checks.empty() ? "" : "; ", c.name(), ": ", absl::StrFormat("%.4g", c.measured()));
  }
  return checks;
}

}  // namespace

tv1::TrainingJobSpec FraudJobSpec(int trials) {
  tv1::TrainingJobSpec spec;
  spec.set_experiment("fraud");
  spec.set_name("fraud detection on card activity");
  spec.mutable_data()->set_dataset(kDataset);
  spec.mutable_data()->add_feature_refs(absl::StrCat(kView, ":*"));
  spec.mutable_data()->set_label_column("is_fraud");
  spec.mutable_split()->set_kind(tv1::SPLIT_KIND_RANDOM);
  spec.mutable_split()->set_test_fraction(0.2);
  spec.mutable_split()->set_validation_fraction(0.2);
  spec.mutable_trainer()->set_kind(tv1::TRAINER_KIND_XGBOOST_GBTREE);
  spec.mutable_trainer()->set_objective(tv1::OBJECTIVE_BINARY_LOGISTIC);
  spec.mutable_trainer()->set_early_stopping_rounds(10);
  (*spec.mutable_hyperparameters())["num_boost_round"] = "80";
  tv1::SearchSpec* search = spec.mutable_search();
  search->set_algorithm(tv1::SEARCH_ALGORITHM_RANDOM);
  search->set_max_trials(trials);
  search->set_parallelism(2);
  search->set_seed(11);
  tv1::ParameterRange* depth = search->add_parameters();
  depth->set_name("max_depth");
  depth->mutable_int_range()->set_min(3);
  depth->mutable_int_range()->set_max(6);
  tv1::ParameterRange* eta = search->add_parameters();
  eta->set_name("eta");
  eta->mutable_float_range()->set_min(0.05);
  eta->mutable_float_range()->set_max(0.3);
  eta->mutable_float_range()->set_scale(tv1::SCALE_LOG);
  spec.mutable_register_model()->set_model_name(kModel);
  spec.mutable_register_model()->set_intended_use(
      "Score card transactions for fraud review; not for automatic declines.");
  spec.mutable_register_model()->set_limitations(
      "Trained on generated demo data; the fraud pattern is known to change.");
  spec.mutable_register_model()->set_owner("risk-ml");
  spec.set_seed(7);
  return spec;
}

tv1::TrainingJobSpec MiscalibratedJobSpec(double weight) {
  tv1::TrainingJobSpec spec = FraudJobSpec(1);
  spec.set_name("fraud, rebalanced with scale_pos_weight (deliberately miscalibrated)");
  spec.clear_search();
  spec.mutable_trainer()->set_early_stopping_rounds(0);
  (*spec.mutable_hyperparameters())["max_depth"] = "4";
  (*spec.mutable_hyperparameters())["eta"] = "0.2";
  (*spec.mutable_hyperparameters())["num_boost_round"] = "60";
  (*spec.mutable_hyperparameters())["scale_pos_weight"] = absl::StrFormat("%g", weight);
  spec.mutable_register_model()->set_transition_to_stage("production");
  return spec;
}

tv1::TrainingJobSpec RetrainJobSpec(const tv1::TrainingJob& searched) {
  tv1::TrainingJobSpec spec = searched.spec();
  spec.set_name("fraud detection on card activity (retrain with the searched parameters)");
  spec.clear_search();
  for (const tv1::TrialSummary& trial : searched.trials()) {
    if (trial.run_id() != searched.best_run_id()) continue;
    for (const auto& [key, value] : trial.params()) (*spec.mutable_hyperparameters())[key] = value;
  }
  return spec;
}

std::string JobTimes(const tv1::TrainingJob& job) {
  int64_t first_trial = 0, last_trial = 0;
  for (const tv1::TrialSummary& trial : job.trials()) {
    if (trial.started_at_micros() != 0 && (first_trial == 0 || trial.started_at_micros() < first_trial)) {
      first_trial = trial.started_at_micros();
    }
    last_trial = std::max(last_trial, trial.finished_at_micros());
  }
  if (first_trial == 0 || last_trial == 0) return "no trial times";
  auto seconds = [](int64_t from, int64_t to) { return absl::StrFormat("%.1f s", (to - from) / 1e6); };
  return absl::StrCat("data ", seconds(job.started_at_micros(), first_trial), ", ", job.trials_size(),
                      " trial(s) ", seconds(first_trial, last_trial), ", register and gate ",
                      seconds(last_trial, job.finished_at_micros()));
}

absl::StatusOr<tv1::TrainingJob> SubmitTrainingJob(PlatformClient& platform,
                                                   const tv1::TrainingJobSpec& spec) {
  {
    tv1::CreateExperimentRequest experiment;
    experiment.set_name(spec.experiment());
    experiment.set_description("Fraud models trained by the closed loop");
    tv1::Experiment created;
    auto context = platform.Context();
    const grpc::Status status =
        platform.training().CreateExperiment(context.get(), experiment, &created);
    if (status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      MLOPS_RETURN_IF_ERROR(CheckRpc(status, "CreateExperiment"));
    }
  }
  tv1::SubmitTrainingJobRequest request;
  *request.mutable_spec() = spec;
  tv1::TrainingJob job;
  auto context = platform.Context();
  MLOPS_RETURN_IF_ERROR(
      CheckRpc(platform.training().SubmitTrainingJob(context.get(), request, &job), "SubmitTrainingJob"));
  return job;
}

absl::StatusOr<tv1::TrainingJob> GetTrainingJob(PlatformClient& platform, const std::string& job_id) {
  tv1::GetJobRequest get;
  get.set_job_id(job_id);
  tv1::TrainingJob job;
  auto context = platform.Context();
  MLOPS_RETURN_IF_ERROR(CheckRpc(platform.training().GetJob(context.get(), get, &job), "GetJob"));
  return job;
}

absl::StatusOr<tv1::TrainingJob> RunTrainingJob(PlatformClient& platform,
                                                const tv1::TrainingJobSpec& spec,
                                                absl::Duration timeout) {
  MLOPS_ASSIGN_OR_RETURN(tv1::TrainingJob job, SubmitTrainingJob(platform, spec));
  const absl::Time deadline = absl::Now() + timeout;
  while (job.state() == tv1::JOB_STATE_QUEUED || job.state() == tv1::JOB_STATE_RUNNING) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("training job ", job.id(), " still ",
                                                      tv1::JobState_Name(job.state())));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    MLOPS_ASSIGN_OR_RETURN(job, GetTrainingJob(platform, job.id()));
  }
  if (job.state() != tv1::JOB_STATE_SUCCEEDED) {
    return absl::AbortedError(absl::StrCat("training job ", job.id(), " ",
                                           tv1::JobState_Name(job.state()), ": ",
                                           job.failure_reason()));
  }
  if (!job.registration().error().empty()) {
    return absl::AbortedError(absl::StrCat("training job ", job.id(),
                                           " could not register its model: ",
                                           job.registration().error()));
  }
  return job;
}

absl::StatusOr<std::string> Promote(PlatformClient& platform, int64_t version) {
  MLOPS_RETURN_IF_ERROR(Transition(platform, version, rv1::STAGE_STAGING).status());
  return Transition(platform, version, rv1::STAGE_PRODUCTION);
}

absl::StatusOr<rv1::InlineData> ModelSampleRows(PlatformClient& platform, int64_t version,
                                                int customers) {
  rv1::GetModelVersionRequest get;
  get.set_model(kModel);
  get.set_version(version);
  rv1::ModelVersion model;
  {
    auto context = platform.Context();
    MLOPS_RETURN_IF_ERROR(CheckRpc(platform.registry().GetModelVersion(context.get(), get, &model),
                                "GetModelVersion"));
  }
  features::v1::GetOnlineFeaturesRequest request;
  rv1::InlineData data;
  for (const rv1::SignatureInput& input : model.signature().inputs()) {
    request.add_feature_refs(input.feature_ref());
    common::v1::Column* c = data.mutable_schema()->add_columns();
    c->set_name(input.name());
    c->set_type(input.type());
  }
  for (int i = 0; i < customers; ++i) {
    request.add_entity_rows()->add_values()->set_string_value(absl::StrFormat("c%04d", i));
  }
  features::v1::GetOnlineFeaturesResponse response;
  auto context = platform.Context();
  MLOPS_RETURN_IF_ERROR(CheckRpc(platform.features().GetOnlineFeatures(context.get(), request, &response),
                              "GetOnlineFeatures"));
  for (const features::v1::OnlineFeatureRow& row : response.rows()) {
    bool complete = true;
    for (auto status : row.statuses()) complete = complete && status == features::v1::FEATURE_STATUS_PRESENT;
    if (!complete) continue;
    *data.add_rows()->mutable_values() = row.values();
  }
  if (data.rows_size() == 0) return absl::FailedPreconditionError("no customer has every feature online");
  return data;
}

void AddCanarySteps(absl::Duration window, rv1::RolloutSpec* spec) {
  spec->set_strategy(rv1::ROLLOUT_STRATEGY_CANARY);
  spec->mutable_canary()->clear_steps();
  // Each step lasts `window` and until the candidate answered enough requests
  // (the gateway's default, 100, takes 50 s at 20 % of 10 purchases a second).
  for (auto [percent, requests] : {std::pair{20.0, 20}, std::pair{100.0, 50}}) {
    rv1::CanaryStep* step = spec->mutable_canary()->add_steps();
    step->set_percent(percent);
    step->set_analysis_window_micros(absl::ToInt64Microseconds(window));
    step->set_min_requests(requests);
  }
}

absl::Status CreateEndpoint(PlatformClient& platform, bool canary, absl::Duration window) {
  rv1::SetEndpointConfigRequest request;
  rv1::EndpointConfig* config = request.mutable_config();
  config->set_endpoint(kEndpoint);
  config->set_model(kModel);
  config->set_description("Fraud scores for card transactions, by customer id.");
  if (canary) {
    rv1::RolloutSpec* spec = config->mutable_promotion_rollout();
    AddCanarySteps(window, spec);
  }
  request.set_reason("closed loop");
  rv1::EndpointConfig response;
  auto context = platform.Context();
  return CheckRpc(platform.registry().SetEndpointConfig(context.get(), request, &response),
               "SetEndpointConfig");
}

absl::StatusOr<inv1::PredictResponse> PredictForCustomers(PlatformClient& platform,
                                                          const std::vector<std::string>& customers,
                                                          const std::string& request_id_prefix) {
  inv1::PredictRequest request;
  request.set_endpoint(kEndpoint);
  request.set_request_id(request_id_prefix);
  for (std::size_t i = 0; i < customers.size(); ++i) {
    inv1::PredictRow* row = request.add_rows();
    row->mutable_entity_key()->set_string_value(customers[i]);
    row->set_request_id(absl::StrCat(request_id_prefix, "-", i));
  }
  inv1::PredictResponse response;
  auto context = platform.Context(std::chrono::milliseconds(10000));
  MLOPS_RETURN_IF_ERROR(CheckRpc(platform.gateway().Predict(context.get(), request, &response), "Predict"));
  return response;
}

absl::StatusOr<inv1::PredictResponse> PredictForPurchases(PlatformClient& platform,
                                                          const std::vector<Transaction>& purchases,
                                                          const std::string& request_id_prefix) {
  inv1::PredictRequest request;
  request.set_endpoint(kEndpoint);
  request.set_request_id(request_id_prefix);
  for (const char* name : {"last_amount", "last_mcc", "last_foreign"}) request.add_feature_names(name);
  for (std::size_t i = 0; i < purchases.size(); ++i) {
    inv1::PredictRow* row = request.add_rows();
    row->mutable_entity_key()->set_string_value(purchases[i].customer_id);
    row->mutable_features()->add_values()->set_double_value(purchases[i].amount);
    row->mutable_features()->add_values()->set_int64_value(purchases[i].mcc);
    row->mutable_features()->add_values()->set_bool_value(purchases[i].foreign);
    row->set_request_id(absl::StrCat(request_id_prefix, "-", i));
  }
  inv1::PredictResponse response;
  auto context = platform.Context(std::chrono::milliseconds(10000));
  MLOPS_RETURN_IF_ERROR(CheckRpc(platform.gateway().Predict(context.get(), request, &response), "Predict"));
  return response;
}

}  // namespace mlops::demo
