#pragma once

// The monitoring service's Prometheus metrics. Thread-safe (prometheus-cpp
// families are); the registry is not owned.
//   mlops_monitoring_predictions_logged_total{model}: records accepted. The
//     model label is bounded: only versions with a reference are accepted.
//   mlops_monitoring_predictions_rejected_total{reason}: records rejected.
//   mlops_monitoring_labels_total{outcome}: ground-truth labels by outcome
//     (joined, pending, updated, rejected, expired, joined_late).

#include <cstdint>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "services/monitoring/monitoring_service.h"

namespace mlops::monitoring {

class MonitoringMetrics : public PredictionCounters {
 public:
  explicit MonitoringMetrics(prometheus::Registry* registry);

  void Accepted(const std::string& model, int64_t n) override;
  void Rejected(const std::string& reason, int64_t n) override;
  void Labels(const std::string& outcome, int64_t n) override;

 private:
  prometheus::Family<prometheus::Counter>* logged_;
  prometheus::Family<prometheus::Counter>* rejected_;
  prometheus::Family<prometheus::Counter>* labels_;
};

}  // namespace mlops::monitoring
