#pragma once

// The monitoring service's Prometheus metrics. Thread-safe (prometheus-cpp
// families are); the registry is not owned.
//   mlops_monitoring_predictions_logged_total{model}: records accepted. The
//     model label is bounded: only versions with a reference are accepted.
//   mlops_monitoring_predictions_rejected_total{reason}: records rejected.
//   mlops_monitoring_labels_total{outcome}: ground-truth labels by outcome
//     (joined, pending, updated, rejected, expired, joined_late).
//   mlops_monitoring_alerts_firing{model, policy, severity}: FIRING alerts
//     (bounded by the policies).
//   mlops_monitoring_drift_score{model, feature}: the latest closed window's
//     drift statistic (the drift report's `statistic`) of the most recent
//     version, for models with a reference (at most 100 models x 200
//     features, plus "__prediction__").
//   mlops_monitoring_auto_references_total{outcome}: automatic references on
//     promotion: set, failed (each failed attempt; retried), skipped (a
//     reference was set already), dropped (queue full).
//   mlops_monitoring_retention_deleted_rows_total{table}: rows deleted by
//     retention (prediction_batches, prediction_requests, ground_truth).
//   mlops_monitoring_retention_last_sweep_timestamp_seconds: when the last
//     retention sweep finished (its clock), 0 before the first.

#include <cstdint>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/monitoring/auto_reference.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/retention_sweeper.h"

namespace mlops::monitoring {

class MonitoringMetrics : public PredictionCounters, public AlertGauges, public DriftGauges,
                          public AutoReferenceCounters, public RetentionCounters {
 public:
  explicit MonitoringMetrics(prometheus::Registry* registry);

  void Accepted(const std::string& model, int64_t n) override;
  void Rejected(const std::string& reason, int64_t n) override;
  void Labels(const std::string& outcome, int64_t n) override;
  void SetFiring(const std::string& model, const std::string& policy, const std::string& severity,
                 int64_t n) override;
  void SetDriftScore(const std::string& model, const std::string& feature,
                     double statistic) override;
  void AutoReference(const std::string& outcome) override;
  void RetentionDeletedRows(const std::string& table, int64_t n) override;
  void RetentionSweepFinished(int64_t now_micros) override;

 private:
  prometheus::Family<prometheus::Counter>* logged_;
  prometheus::Family<prometheus::Counter>* rejected_;
  prometheus::Family<prometheus::Counter>* labels_;
  prometheus::Family<prometheus::Gauge>* firing_;
  prometheus::Family<prometheus::Gauge>* drift_;
  prometheus::Family<prometheus::Counter>* auto_references_;
  prometheus::Family<prometheus::Counter>* retention_deleted_;
  prometheus::Gauge* retention_last_sweep_;
};

}  // namespace mlops::monitoring
