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
                     .Register(*registry)),
      labels_(&prometheus::BuildCounter()
                   .Name("mlops_monitoring_labels_total")
                   .Help("Ground-truth labels by outcome of the join")
                   .Register(*registry)),
      firing_(&prometheus::BuildGauge()
                   .Name("mlops_monitoring_alerts_firing")
                   .Help("Alerts currently FIRING, per model, policy and severity")
                   .Register(*registry)),
      drift_(&prometheus::BuildGauge()
                  .Name("mlops_monitoring_drift_score")
                  .Help("Drift statistic of the latest closed window per model and feature")
                  .Register(*registry)),
      auto_references_(&prometheus::BuildCounter()
                            .Name("mlops_monitoring_auto_references_total")
                            .Help("Automatic references on promotion, by outcome")
                            .Register(*registry)),
      retention_deleted_(&prometheus::BuildCounter()
                              .Name("mlops_monitoring_retention_deleted_rows_total")
                              .Help("Rows deleted by retention, by table")
                              .Register(*registry)),
      retention_last_sweep_(&prometheus::BuildGauge()
                                 .Name("mlops_monitoring_retention_last_sweep_timestamp_seconds")
                                 .Help("When the last retention sweep finished (Unix seconds)")
                                 .Register(*registry)
                                 .Add({})) {}

void MonitoringMetrics::Accepted(const std::string& model, int64_t n) {
  if (n > 0) logged_->Add({{"model", model}}).Increment(static_cast<double>(n));
}

void MonitoringMetrics::Rejected(const std::string& reason, int64_t n) {
  if (n > 0) rejected_->Add({{"reason", reason}}).Increment(static_cast<double>(n));
}

void MonitoringMetrics::Labels(const std::string& outcome, int64_t n) {
  if (n > 0) labels_->Add({{"outcome", outcome}}).Increment(static_cast<double>(n));
}

void MonitoringMetrics::SetFiring(const std::string& model, const std::string& policy,
                                  const std::string& severity, int64_t n) {
  firing_->Add({{"model", model}, {"policy", policy}, {"severity", severity}})
      .Set(static_cast<double>(n));
}

void MonitoringMetrics::SetDriftScore(const std::string& model, const std::string& feature,
                                      double statistic) {
  drift_->Add({{"model", model}, {"feature", feature}}).Set(statistic);
}

void MonitoringMetrics::AutoReference(const std::string& outcome) {
  auto_references_->Add({{"outcome", outcome}}).Increment();
}

void MonitoringMetrics::RetentionDeletedRows(const std::string& table, int64_t n) {
  if (n > 0) retention_deleted_->Add({{"table", table}}).Increment(static_cast<double>(n));
}

void MonitoringMetrics::RetentionSweepFinished(int64_t now_micros) {
  retention_last_sweep_->Set(static_cast<double>(now_micros) / 1e6);
}

}  // namespace mlops::monitoring
