#pragma once

// Persistence of the monitoring service: references (serialized
// mlops.monitoring.v1.Reference plus raw sample values per feature),
// configurations and alert policies (serialized messages keyed by model /
// (model, name)), and raw prediction records appended in batches (one
// stored row per LogPredictions message, see prediction_log_packing.h).
// Implementations are thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/monitoring/label_quality.h"
#include "services/monitoring/pending_labels.h"
#include "services/monitoring/performance_groups.h"
#include "services/monitoring/prediction_log_batch.h"

namespace mlops::monitoring {

struct StoredReference {
  std::string model;
  int64_t version = 0;
  std::string reference;  // serialized v1.Reference
  int64_t set_at_micros = 0;
  std::vector<std::pair<std::string, std::vector<double>>> samples;  // feature -> values
};

struct StoredPolicy {
  std::string model;
  std::string name;
  std::string policy;  // serialized v1.AlertPolicy
};

// One ground-truth label as stored (a second label for the same (request
// id, model) replaces the first).
struct StoredLabel {
  std::string request_id;
  std::string model;  // empty: joins every model's prediction
  LabelValue label;
  int64_t label_at_micros = 0;
  int64_t received_at_micros = 0;
};

// A label waiting for its prediction, as stored.
struct StoredPendingLabel {
  PendingLabelKey key;
  int64_t received_at_micros = 0;
};

// A logged prediction a label can join.
struct KnownPrediction {
  std::string request_id;
  std::string model;
  bool classification = false;  // it carries a predicted label
};

// One alert as stored: the serialized v1.Alert plus the columns filtered on.
struct StoredAlert {
  int64_t number = 0;  // id "alert-<number>"
  std::string model;
  int64_t version = 0;
  std::string policy;
  int32_t state = 0;
  int32_t severity = 0;
  int64_t pending_since_micros = 0;
  int64_t resolved_at_micros = 0;  // 0 while open
  std::string alert;               // serialized v1.Alert
};

// ListAlerts filters; zero values mean "any".
struct AlertQuery {
  std::string model;
  int64_t version = 0;
  std::string policy;
  std::vector<int32_t> states;
  int32_t min_severity = 0;
  int64_t active_from_micros = 0;  // not resolved before this
  int64_t active_to_micros = 0;    // pending before this
  int64_t before_number = 0;       // page: numbers below this
  int limit = 100;
};

class MonitoringStore : public PredictionLogSink {
 public:
  virtual ~MonitoringStore() = default;

  // Replaces the version's reference and samples atomically.
  virtual absl::Status PutReference(const StoredReference& reference) = 0;
  // nullopt when none is set.
  virtual absl::StatusOr<std::optional<StoredReference>> GetReference(const std::string& model,
                                                                      int64_t version) = 0;

  virtual absl::Status PutConfig(const std::string& model, const std::string& config,
                                 int64_t updated_at_micros) = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetConfig(const std::string& model) = 0;

  virtual absl::Status PutPolicy(const StoredPolicy& policy, int64_t updated_at_micros) = 0;
  // Ordered by (model, name), after (after_model, after_name); `model` empty = all.
  virtual absl::StatusOr<std::vector<StoredPolicy>> ListPolicies(const std::string& model,
                                                                 const std::string& after_model,
                                                                 const std::string& after_name,
                                                                 int limit) = 0;
  // The stored policy (to keep created_at), nullopt when absent.
  virtual absl::StatusOr<std::optional<StoredPolicy>> GetPolicy(const std::string& model,
                                                                const std::string& name) = 0;
  // false when there was no such policy.
  virtual absl::StatusOr<bool> DeletePolicy(const std::string& model, const std::string& name) = 0;

  // AppendPredictions (PredictionLogSink): the batches in one transaction.

  // Ground truth. Upserts labels in one transaction; per label, true when it
  // replaced an earlier label (a correction).
  virtual absl::StatusOr<std::vector<bool>> PutLabels(const std::vector<StoredLabel>& labels) = 0;
  // The logged predictions carrying any of `request_ids`.
  virtual absl::StatusOr<std::vector<KnownPrediction>> FindPredictions(
      const std::vector<std::string>& request_ids) = 0;
  // Marks pending labels expired (they no longer join).
  virtual absl::Status MarkLabelsExpired(const std::vector<PendingLabelKey>& keys,
                                         int64_t now_micros) = 0;
  // Labels neither expired nor joined to a logged prediction (of their
  // model; any model for model-less labels), oldest first, at most `limit`.
  virtual absl::StatusOr<std::vector<StoredPendingLabel>> ListPendingLabels(int64_t limit) = 0;
  // Labels of `model` (or model-less) that expired in [start, end).
  virtual absl::StatusOr<int64_t> CountExpiredLabels(const std::string& model,
                                                     int64_t start_micros, int64_t end_micros) = 0;
  // Ordered by version, then window start.
  virtual absl::StatusOr<std::vector<PerformanceGroup>> QueryPerformance(
      const PerformanceQuery& query) = 0;

  // Alerts. The next alert number (a sequence; starts at 1).
  virtual absl::StatusOr<int64_t> NextAlertNumber() = 0;
  // Inserts or replaces the alert with this number.
  virtual absl::Status PutAlert(const StoredAlert& alert) = 0;
  virtual absl::StatusOr<std::optional<StoredAlert>> GetAlert(int64_t number) = 0;
  // Newest (highest number) first.
  virtual absl::StatusOr<std::vector<StoredAlert>> ListAlerts(const AlertQuery& query) = 0;
};

}  // namespace mlops::monitoring
