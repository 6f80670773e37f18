#include "services/monitoring/metrics.h"

namespace mlops::monitoring {

MonitoringMetrics::MonitoringMetrics(prometheus::Registry* registry)
    : logged_(&prometheus::BuildCounter()
                   .Name("mlops_monitoring_predictions_logged_total")
                   .Help("Prediction records accepted by LogPredictions")
                   .Register(*registry)),
      rejected_(&prometheus::BuildCounter()
                     .Name("mlops_monitoring_predictions_rejected_total")
                     .Help("Prediction records rejected by LogPredictions, by reason")
                     .Register(*registry)) {}

void MonitoringMetrics::Accepted(const std::string& model, int64_t n) {
  if (n > 0) logged_->Add({{"model", model}}).Increment(static_cast<double>(n));
}

void MonitoringMetrics::Rejected(const std::string& reason, int64_t n) {
  if (n > 0) rejected_->Add({{"reason", reason}}).Increment(static_cast<double>(n));
}

}  // namespace mlops::monitoring
