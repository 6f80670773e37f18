#pragma once
// The gateway's metric families, created once and injected. Thread-safe as
// prometheus-cpp is. Labels: endpoint (configured names), model version,
// variant, gRPC code name, rollback cause; never request or entity ids.
// Predict's per-request metrics go through EndpointMetrics, whose label
// children are resolved once per endpoint (and version, variant, code): a
// prometheus-cpp label lookup copies a label map and hashes it under a lock.

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/gateway/endpoint_manager.h"

namespace mlops::gateway {

enum class PredictionVariant { kPrimary = 0, kCandidate, kShadow, kNone };

// One endpoint's Predict metrics with their label children cached. Created
// by GatewayMetrics::ForEndpoint and owned by it. Thread-safe.
class EndpointMetrics {
 public:
  // mlops_gateway_predictions_total{endpoint,version,variant,code}
  void Predictions(int64_t version, PredictionVariant variant, absl::StatusCode code, int64_t rows);
  // mlops_gateway_request_duration_seconds{endpoint}, mlops_gateway_batch_rows
  void Request(double seconds, int64_t rows);
  // mlops_gateway_model_cpu_seconds_total{endpoint}: time inside the model
  // (a call that does not block: its CPU time, plus any preemption).
  void ModelSeconds(double seconds) { model_cpu_->Increment(seconds); }

 private:
  friend class GatewayMetrics;
  EndpointMetrics(std::string endpoint, prometheus::Family<prometheus::Counter>* predictions,
                  prometheus::Histogram* duration, prometheus::Histogram* batch_rows,
                  prometheus::Counter* model_cpu)
      : endpoint_(std::move(endpoint)),
        predictions_(predictions),
        duration_(duration),
        batch_rows_(batch_rows),
        model_cpu_(model_cpu) {}

  const std::string endpoint_;
  prometheus::Family<prometheus::Counter>* const predictions_;
  prometheus::Histogram* const duration_;
  prometheus::Histogram* const batch_rows_;
  prometheus::Counter* const model_cpu_;
  absl::Mutex mu_;
  // (version, variant, code) -> its child of predictions_total.
  absl::flat_hash_map<std::tuple<int64_t, int, int>, prometheus::Counter*> children_ ABSL_GUARDED_BY(mu_);
};

class GatewayMetrics final : public RolloutObserver {
 public:
  explicit GatewayMetrics(prometheus::Registry* registry);

  // The metrics of `endpoint` (a configured name or "unknown": clients'
  // names are unbounded), created on first use and kept; never null.
  EndpointMetrics* ForEndpoint(const std::string& endpoint);
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
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<EndpointMetrics>> endpoints_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops::gateway
