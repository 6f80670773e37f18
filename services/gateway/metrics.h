#pragma once
// The gateway's metric families, created once and injected. Thread-safe as
// prometheus-cpp is. Labels: endpoint (configured names), model version,
// variant, gRPC code name, rollback cause; never request or entity ids.

#include <cstdint>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/gateway/endpoint_manager.h"

namespace mlops::gateway {

class GatewayMetrics final : public RolloutObserver {
 public:
  explicit GatewayMetrics(prometheus::Registry* registry);

  // mlops_gateway_predictions_total{endpoint,version,variant,code}
  void Predictions(const std::string& endpoint, int64_t version, const std::string& variant,
                   const std::string& code, int64_t rows);
  // mlops_gateway_request_duration_seconds{endpoint}, mlops_gateway_batch_rows
  void Request(const std::string& endpoint, double seconds, int64_t rows);
  // mlops_gateway_model_cpu_seconds_total{endpoint}: thread CPU time inside
  // the model (divide by predictions_total for the cost per prediction).
  void ModelCpu(const std::string& endpoint, double seconds);
  // mlops_gateway_prediction_log_{dropped,sent}_total
  void LogDropped(int64_t n) { log_dropped_->Increment(static_cast<double>(n)); }
  void LogSent(int64_t n) { log_sent_->Increment(static_cast<double>(n)); }

  // RolloutObserver: mlops_gateway_rollbacks_total{endpoint,cause},
  // mlops_gateway_rollout_state / _step / _candidate_percent{endpoint},
  // mlops_gateway_shadow_agreement_ratio{endpoint}.
  void RolledBack(const std::string& endpoint, bool automatic) override;
  void RolloutState(const std::string& endpoint, int state, int step, double percent) override;
  void ShadowAgreement(const std::string& endpoint, double rate) override;

 private:
  prometheus::Family<prometheus::Counter>* predictions_;
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Histogram* batch_rows_;
  prometheus::Family<prometheus::Counter>* model_cpu_;
  prometheus::Counter* log_dropped_;
  prometheus::Counter* log_sent_;
  prometheus::Family<prometheus::Counter>* rollbacks_;
  prometheus::Family<prometheus::Gauge>* rollout_state_;
  prometheus::Family<prometheus::Gauge>* rollout_step_;
  prometheus::Family<prometheus::Gauge>* candidate_percent_;
  prometheus::Family<prometheus::Gauge>* shadow_agreement_;
};

}  // namespace mlops::gateway
