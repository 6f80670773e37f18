#pragma once

// The gRPC handlers of mlops.monitoring.v1.MonitoringService. Implemented:
// LogPredictions, SetReference / GetReference (inline profile or rows),
// Set/GetMonitoringConfig, GetDriftReport, Set/List/DeleteAlertPolicy,
// LogGroundTruth, GetPerformance; services/monitoring/SERVICE.md lists what
// is left.
// Thread-safe: the caches are guarded by one mutex; the collaborators are
// thread-safe and not owned.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/authorizer.h"
#include "mlops/monitoring/v1/monitoring.grpc.pb.h"
#include "services/monitoring/alert_evaluator.h"
#include "services/monitoring/alert_hub.h"
#include "services/monitoring/monitoring_store.h"
#include "services/monitoring/pending_labels.h"
#include "services/monitoring/prediction_log_writer.h"
#include "services/monitoring/window_drift.h"
#include "services/monitoring/window_store.h"

namespace mlops::monitoring {

// Counts LogPredictions outcomes (implemented by MonitoringMetrics).
class PredictionCounters {
 public:
  virtual ~PredictionCounters() = default;
  virtual void Accepted(const std::string& model, int64_t n) = 0;
  virtual void Rejected(const std::string& reason, int64_t n) = 0;
  // Ground-truth labels by outcome: joined, pending, updated, rejected,
  // expired, joined_late (a pending label whose prediction arrived).
  virtual void Labels(const std::string& outcome, int64_t n) {
    (void)outcome;
    (void)n;
  }
};

// Where SetReference's dataset_version form gets its profile (the
// ingestion service in production).
class ProfileSource {
 public:
  virtual ~ProfileSource() = default;
  // NOT_FOUND when ingestion does not know the version; UNAVAILABLE when
  // ingestion is unreachable.
  virtual absl::StatusOr<common::v1::DatasetProfile> GetDatasetProfile(
      const std::string& version_id) = 0;
};

// mlops_monitoring_drift_score{model, feature} (implemented by
// MonitoringMetrics).
class DriftGauges {
 public:
  virtual ~DriftGauges() = default;
  virtual void SetDriftScore(const std::string& model, const std::string& feature,
                             double statistic) = 0;
};

// The set_by of references set on promotion.
inline constexpr char kAutomaticReferencePrincipal[] = "monitoring:automatic";

struct MonitoringServiceOptions {
  std::function<int64_t()> now_micros;  // default: the wall clock
  // Null: SetReference from a dataset version is FAILED_PRECONDITION.
  ProfileSource* profiles = nullptr;
  // Labels waiting for their prediction, at most (beyond: the first to
  // expire is dropped and counted as expired).
  int64_t max_pending_labels = 1'000'000;
  // The alert loop: how often every policy is evaluated; who runs the
  // actions of firing alerts (null: not run) and exports the firing gauge.
  int64_t alert_eval_interval_micros = 5'000'000;
  AlertActions* alert_actions = nullptr;
  AlertGauges* alert_gauges = nullptr;
  // Null: no drift-score gauges.
  DriftGauges* drift_gauges = nullptr;
  // WatchAlerts: a heartbeat after this long without a change.
  int64_t watch_heartbeat_micros = 5'000'000;
};

// Also the alert loop's metric source (alert_measure.cc). Owns the AlertHub
// and the AlertEvaluator (started and stopped by its owner: main.cc).
class MonitoringServiceImpl final : public v1::MonitoringService::Service,
                                    public AlertMetricSource {
 public:
  MonitoringServiceImpl(MonitoringStore* store, WindowStore* windows, PredictionLogWriter* writer,
                        const Authorizer* authorizer, PredictionCounters* counters,
                        MonitoringServiceOptions options = {});

  grpc::Status LogPredictions(grpc::ServerContext* ctx,
                              grpc::ServerReader<v1::LogPredictionsRequest>* reader,
                              v1::LogPredictionsResponse* resp) override;
  grpc::Status SetReference(grpc::ServerContext* ctx, const v1::SetReferenceRequest* req,
                            v1::Reference* resp) override;
  grpc::Status GetReference(grpc::ServerContext* ctx, const v1::GetReferenceRequest* req,
                            v1::Reference* resp) override;
  grpc::Status SetMonitoringConfig(grpc::ServerContext* ctx,
                                   const v1::SetMonitoringConfigRequest* req,
                                   v1::MonitoringConfig* resp) override;
  grpc::Status GetMonitoringConfig(grpc::ServerContext* ctx,
                                   const v1::GetMonitoringConfigRequest* req,
                                   v1::MonitoringConfig* resp) override;
  grpc::Status GetDriftReport(grpc::ServerContext* ctx, const v1::GetDriftReportRequest* req,
                              v1::DriftReport* resp) override;
  grpc::Status SetAlertPolicy(grpc::ServerContext* ctx, const v1::SetAlertPolicyRequest* req,
                              v1::AlertPolicy* resp) override;
  grpc::Status ListAlertPolicies(grpc::ServerContext* ctx, const v1::ListAlertPoliciesRequest* req,
                                 v1::ListAlertPoliciesResponse* resp) override;
  grpc::Status DeleteAlertPolicy(grpc::ServerContext* ctx, const v1::DeleteAlertPolicyRequest* req,
                                 v1::DeleteAlertPolicyResponse* resp) override;
  // monitoring_service_labels.cc
  grpc::Status LogGroundTruth(grpc::ServerContext* ctx, const v1::LogGroundTruthRequest* req,
                              v1::LogGroundTruthResponse* resp) override;
  grpc::Status GetPerformance(grpc::ServerContext* ctx, const v1::GetPerformanceRequest* req,
                              v1::GetPerformanceResponse* resp) override;

  // monitoring_service_alerts.cc
  grpc::Status ListAlerts(grpc::ServerContext* ctx, const v1::ListAlertsRequest* req,
                          v1::ListAlertsResponse* resp) override;
  grpc::Status GetAlert(grpc::ServerContext* ctx, const v1::GetAlertRequest* req,
                        v1::Alert* resp) override;
  grpc::Status WatchAlerts(grpc::ServerContext* ctx, const v1::WatchAlertsRequest* req,
                           grpc::ServerWriter<v1::WatchAlertsResponse>* writer) override;

  // alert_measure.cc: AlertMetricSource.
  absl::StatusOr<std::optional<MetricValue>> Measure(const v1::AlertPolicy& policy,
                                                     int64_t version, int64_t now_micros,
                                                     bool open_window) override;
  std::vector<int64_t> ActiveVersions(const std::string& model) override;
  // Expires pending labels and refreshes the drift-score gauges.
  void AfterRound(int64_t now_micros) override;

  // Whether model@version has a reference (cached or stored).
  absl::StatusOr<bool> HasReference(const std::string& model, int64_t version);
  // Sets model@version's reference through SetReference's path from an
  // inline profile or rows, marked `automatic` with `dataset_version` (the
  // training dataset version it was built from) as its origin and
  // kAutomaticReferencePrincipal as set_by. Replaces any reference.
  absl::StatusOr<v1::Reference> SetAutomaticReference(const v1::SetReferenceRequest& req,
                                                      const std::string& dataset_version);

  AlertEvaluator* alerts() { return alerts_.get(); }
  AlertHub* alert_hub() { return &hub_; }

  // Marks pending labels whose TTL passed as expired (called by the RPCs and
  // periodically by the alert loop).
  absl::Status ExpireLabels();
  // Reloads the labels still pending in Postgres after a restart (expiry =
  // received + the model's TTL; those already past it expire at once).
  // Called once at start, before the alert loop.
  absl::Status LoadPendingLabels();

 private:
  // A loaded reference: the message, the drift view and the windows' binning.
  struct LoadedReference {
    v1::Reference reference;
    ReferenceData data;
    std::shared_ptr<const WindowBinning> binning;
  };
  using RefKey = std::tuple<std::string, int64_t>;

  // nullptr when none is set.
  absl::StatusOr<std::shared_ptr<const LoadedReference>> Reference(const std::string& model,
                                                                   int64_t version);
  absl::StatusOr<v1::MonitoringConfig> Config(const std::string& model);  // as stored or empty
  // The writer's sequence numbers of the rows a LogPredictions stream queued.
  struct LogProgress {
    int64_t first_seq = 0;  // 0: none yet
    int64_t last_seq = 0;
  };
  absl::Status LogOne(const v1::LogPredictionsRequest& req, v1::LogPredictionsResponse* resp,
                      LogProgress* progress);
  // `automatic_from` non-empty: an automatic reference from that dataset
  // version.
  absl::Status DoSetReference(const std::string& principal, const v1::SetReferenceRequest& req,
                              const std::string& automatic_from, v1::Reference* resp);
  absl::Status DoLogGroundTruth(const v1::LogGroundTruthRequest& req,
                                v1::LogGroundTruthResponse* resp);
  absl::Status DoGetPerformance(const v1::GetPerformanceRequest& req,
                                v1::GetPerformanceResponse* resp);
  // Stores expiry of `keys` and counts it.
  absl::Status RecordExpired(const std::vector<PendingLabelKey>& keys);
  absl::Status DoListAlerts(const v1::ListAlertsRequest& req, v1::ListAlertsResponse* resp);
  absl::Status DoGetAlert(const v1::GetAlertRequest& req, v1::Alert* resp);
  absl::Status DoDriftReport(const v1::GetDriftReportRequest& req, v1::DriftReport* resp);
  int64_t Now() const;
  // Logs a failure once, with the RPC's name, and maps the status.
  static grpc::Status Reply(std::string_view rpc, const absl::Status& s);

  MonitoringStore* const store_;
  WindowStore* const windows_;
  PredictionLogWriter* const writer_;
  const Authorizer* const authorizer_;
  PredictionCounters* const counters_;
  const MonitoringServiceOptions options_;
  PendingLabels pending_;
  // Drift gauges: the window last exported per model (alert loop only).
  std::map<std::string, std::pair<int64_t, int64_t>> gauged_windows_;
  AlertHub hub_;
  std::unique_ptr<AlertEvaluator> alerts_;

  absl::Mutex mu_;
  std::map<RefKey, std::shared_ptr<const LoadedReference>> references_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::MonitoringConfig> configs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops::monitoring
