#include "services/gateway/metrics.h"

namespace mlops::gateway {

GatewayMetrics::GatewayMetrics(prometheus::Registry* registry) {
  predictions_ = &prometheus::BuildCounter()
                      .Name("mlops_gateway_predictions_total")
                      .Help("Rows predicted, by endpoint, model version, variant and code")
                      .Register(*registry);
  duration_ = &prometheus::BuildHistogram()
                   .Name("mlops_gateway_request_duration_seconds")
                   .Help("Predict calls' time in the gateway, feature lookup included")
                   .Register(*registry);
  batch_rows_ = &prometheus::BuildHistogram()
                     .Name("mlops_gateway_batch_rows")
                     .Help("Rows per Predict call")
                     .Register(*registry)
                     .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 50, 100, 500, 1000});
  model_cpu_ = &prometheus::BuildCounter()
                    .Name("mlops_gateway_model_cpu_seconds_total")
                    .Help("Seconds spent inside the models (calls that do not block), by endpoint")
                    .Register(*registry);
  log_dropped_ = &prometheus::BuildCounter()
                      .Name("mlops_gateway_prediction_log_dropped_total")
                      .Help("Prediction records not delivered to monitoring")
                      .Register(*registry)
                      .Add({});
  log_sent_ = &prometheus::BuildCounter()
                   .Name("mlops_gateway_prediction_log_sent_total")
                   .Help("Prediction records delivered to monitoring")
                   .Register(*registry)
                   .Add({});
  rollbacks_ = &prometheus::BuildCounter()
                    .Name("mlops_gateway_rollbacks_total")
                    .Help("Rollouts rolled back, by endpoint and cause (automatic, manual)")
                    .Register(*registry);
  rollout_state_ = &prometheus::BuildGauge()
                        .Name("mlops_gateway_rollout_state")
                        .Help("The endpoint's rollout state (mlops.registry.v1.RolloutState number)")
                        .Register(*registry);
  rollout_step_ = &prometheus::BuildGauge()
                       .Name("mlops_gateway_rollout_step")
                       .Help("The endpoint's current canary step (0-based)")
                       .Register(*registry);
  candidate_percent_ = &prometheus::BuildGauge()
                            .Name("mlops_gateway_candidate_traffic_percent")
                            .Help("Share of answered traffic routed to the candidate")
                            .Register(*registry);
  shadow_agreement_ = &prometheus::BuildGauge()
                           .Name("mlops_gateway_shadow_agreement_ratio")
                           .Help("Shadow vs primary agreement rate in the current window")
                           .Register(*registry);
}

namespace {

const char* VariantName(PredictionVariant v) {
  switch (v) {
    case PredictionVariant::kPrimary: return "primary";
    case PredictionVariant::kCandidate: return "candidate";
    case PredictionVariant::kShadow: return "shadow";
    case PredictionVariant::kNone: return "none";
  }
  return "none";
}

}  // namespace

void EndpointMetrics::Predictions(int64_t version, PredictionVariant variant,
                                  absl::StatusCode code, int64_t rows) {
  const std::tuple<int64_t, int, int> key{version, static_cast<int>(variant), static_cast<int>(code)};
  prometheus::Counter* counter = nullptr;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = children_.find(key);
    if (it != children_.end()) counter = it->second;
  }
  if (counter == nullptr) {
    absl::MutexLock lock(&mu_);
    prometheus::Counter*& slot = children_[key];
    if (slot == nullptr) {
      slot = &predictions_->Add({{"endpoint", endpoint_},
                                 {"version", std::to_string(version)},
                                 {"variant", VariantName(variant)},
                                 {"code", absl::StatusCodeToString(code)}});
    }
    counter = slot;
  }
  counter->Increment(static_cast<double>(rows));
}

void EndpointMetrics::Request(double seconds, int64_t rows) {
  duration_->Observe(seconds);
  batch_rows_->Observe(static_cast<double>(rows));
}

EndpointMetrics* GatewayMetrics::ForEndpoint(const std::string& endpoint) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = endpoints_.find(endpoint);
    if (it != endpoints_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<EndpointMetrics>& slot = endpoints_[endpoint];
  if (slot == nullptr) {
    prometheus::Histogram* duration = &duration_->Add(
        {{"endpoint", endpoint}},
        prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                0.01, 0.025, 0.05, 0.1, 0.25, 1});
    slot.reset(new EndpointMetrics(endpoint, predictions_, duration, batch_rows_,
                                   &model_cpu_->Add({{"endpoint", endpoint}})));
  }
  return slot.get();
}

void GatewayMetrics::RolledBack(const std::string& endpoint, bool automatic) {
  rollbacks_->Add({{"endpoint", endpoint}, {"cause", automatic ? "automatic" : "manual"}}).Increment();
}

void GatewayMetrics::RolloutState(const std::string& endpoint, int state, int step,
                                  double percent) {
  rollout_state_->Add({{"endpoint", endpoint}}).Set(state);
  rollout_step_->Add({{"endpoint", endpoint}}).Set(step);
  candidate_percent_->Add({{"endpoint", endpoint}}).Set(percent);
  // An endpoint with rollouts exports its rollback counters from 0, so that
  // increase() and the shipped RollbackHappened rule see the first one.
  for (const char* cause : {"automatic", "manual"}) {
    rollbacks_->Add({{"endpoint", endpoint}, {"cause", cause}});
  }
}

void GatewayMetrics::ShadowAgreement(const std::string& endpoint, double rate) {
  shadow_agreement_->Add({{"endpoint", endpoint}}).Set(rate);
}

}  // namespace mlops::gateway
