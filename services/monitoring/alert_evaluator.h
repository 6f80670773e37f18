#pragma once

// The alert loop: every `interval` it evaluates each enabled alert policy for
// each version of its model (or the policy's version) on the metric the
// policy names, feeds AlertStateMachine (debounce, lifecycle), stores every
// created or changed alert (Postgres), publishes it to the AlertHub
// (WatchAlerts) and, when an alert fires (or resolves), hands the policy's
// actions to AlertActions (which never block). Thread-safe: one mutex
// serializes evaluation, policy changes and action results; owns its thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "mlops/monitoring/v1/monitoring.pb.h"
#include "services/monitoring/alert_hub.h"
#include "services/monitoring/alert_state_machine.h"
#include "services/monitoring/monitoring_store.h"

namespace mlops::monitoring {

// One evaluation of a policy's metric for one version.
struct MetricValue {
  int64_t samples = 0;  // rows (labels, for label metrics) behind the value
  double value = 0;
  bool drifted = false;  // drift metrics: the drift report's flag
  int64_t window_start_micros = 0;
  int64_t window_end_micros = 0;
  std::string what;  // e.g. "feature amount drift (wasserstein)"
  bool open_window = false;  // the span ends with the still-open window
};

// Where metric values come from (the service: windows, references, labels).
class AlertMetricSource {
 public:
  virtual ~AlertMetricSource() = default;
  // nullopt: no data for the policy's window (nothing changes). With
  // `open_window` false: the last closed windows covering the policy's
  // window; true: those and the open window (the early, partial-window
  // evaluation; nullopt for label metrics).
  virtual absl::StatusOr<std::optional<MetricValue>> Measure(const v1::AlertPolicy& policy,
                                                             int64_t version, int64_t now_micros,
                                                             bool open_window) = 0;
  // The versions of `model` with recent predictions.
  virtual std::vector<int64_t> ActiveVersions(const std::string& model) = 0;
  // Periodic upkeep after each round (label expiry, gauges).
  virtual void AfterRound(int64_t now_micros) { (void)now_micros; }
};

// Runs a firing (or resolved) alert's actions; must not block.
class AlertActions {
 public:
  virtual ~AlertActions() = default;
  // `alert.actions()` holds one PENDING result per action of the policy, at
  // the same index (resolve notifications are appended).
  virtual void Run(const v1::Alert& alert, const v1::AlertPolicy& policy, bool on_resolve) = 0;
};

// mlops_monitoring_alerts_firing{model, policy, severity}.
class AlertGauges {
 public:
  virtual ~AlertGauges() = default;
  virtual void SetFiring(const std::string& model, const std::string& policy,
                         const std::string& severity, int64_t n) = 0;
};

struct AlertEvaluatorOptions {
  std::function<int64_t()> now_micros;  // required
  int64_t interval_micros = 5'000'000;
  int max_policies = 10'000;  // evaluated per round, at most
};

class AlertEvaluator {
 public:
  AlertEvaluator(MonitoringStore* store, AlertMetricSource* source, AlertHub* hub,
                 AlertActions* actions, AlertGauges* gauges, AlertEvaluatorOptions options);
  ~AlertEvaluator();  // Stop()
  AlertEvaluator(const AlertEvaluator&) = delete;
  AlertEvaluator& operator=(const AlertEvaluator&) = delete;

  // Loads the open alerts from the store (call before Start / EvaluateOnce).
  absl::Status Load();
  // Starts the loop thread (idempotent); Stop() ends it (idempotent).
  void Start();
  void Stop();

  // One round over every policy.
  absl::Status EvaluateOnce();

  // A policy was deleted: its open alerts resolve ("policy deleted").
  absl::StatusOr<int> PolicyDeleted(const std::string& model, const std::string& name);
  // A policy was replaced: its open alerts resolve when what it watches
  // (version, metric, feature, comparison, threshold) changed, or when it
  // is now disabled (it is no longer evaluated).
  absl::StatusOr<int> PolicyReplaced(const v1::AlertPolicy& old_policy,
                                     const v1::AlertPolicy& new_policy);

  // An action finished (or is retrying): updates result `index` of the alert.
  void RecordAction(const std::string& alert_id, int index, const v1::ActionResult& result);

  // The PENDING and FIRING alerts now.
  std::vector<v1::Alert> OpenAlerts() const;

 private:
  absl::Status EvaluatePolicy(const v1::AlertPolicy& policy, int64_t version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<int> ResolveAll(const std::string& model, const std::string& name,
                                 const std::string& summary) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores and publishes the alert.
  absl::Status Commit(const v1::Alert& alert) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UpdateGauges() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();

  MonitoringStore* const store_;
  AlertMetricSource* const source_;
  AlertHub* const hub_;
  AlertActions* const actions_;  // may be null: actions are not run
  AlertGauges* const gauges_;    // may be null
  const AlertEvaluatorOptions options_;

  mutable absl::Mutex mu_;
  AlertStateMachine machine_ ABSL_GUARDED_BY(mu_);
  std::map<AlertKey, v1::Alert> open_ ABSL_GUARDED_BY(mu_);
  std::map<AlertKey, v1::AlertPolicy> open_policies_ ABSL_GUARDED_BY(mu_);
  std::set<std::tuple<std::string, std::string, std::string>> gauge_keys_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// A PENDING result naming the action's kind and target (URL, trigger id or
// endpoint).
v1::ActionResult PendingActionResult(const v1::AlertAction& action);

// "alert-<n>" <-> n; 0 when `id` is not of that form.
std::string AlertId(int64_t number);
int64_t AlertNumber(const std::string& id);

}  // namespace mlops::monitoring
