#pragma once
// Plain domain structs of the registry (no gRPC, no pqxx). The service layer
// converts protos to and from these; the store persists them.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlops::registry {

// Version stages (values match the proto enum).
enum class Stage { kNone = 1, kStaging = 2, kProduction = 3, kArchived = 4 };
const char* StageName(Stage stage);
// Metric comparisons (values match the proto enum).
enum class Comparison { kGreaterOrEqual = 1, kLessOrEqual = 2, kGreater = 3, kLess = 4 };

using Tags = std::vector<std::pair<std::string, std::string>>;

struct AliasRecord {
  std::string model;
  std::string name;
  int64_t version = 0;
  int64_t updated_at_micros = 0;
  std::string updated_by;
};

// An endpoint: a name clients call, bound to one model (served: that model's
// PRODUCTION version).
struct EndpointRecord {
  std::string endpoint;
  std::string model;
  // The rollout a promotion starts on it, serialized by the service layer
  // (mlops.registry.v1.RolloutSpec); opaque to the domain and the store.
  std::string promotion_rollout;
  std::string description;
  int64_t updated_at_micros = 0;
  std::string updated_by;
};

// Rollouts on an endpoint (values match the proto enums).
enum class RolloutState { kPending = 1, kInProgress = 2, kCompleted = 3, kRolledBack = 4, kSuperseded = 5 };
enum class RolloutOrigin { kPromotion = 1, kManual = 2 };

// One rollout: a promotion (or a manual request) moving an endpoint's traffic
// from `primary_version` to `candidate_version` with the endpoint's spec.
struct RolloutRecord {
  std::string rollout_id;  // "ro-<16 hex>"
  std::string endpoint;
  std::string model;
  RolloutOrigin origin = RolloutOrigin::kPromotion;
  // mlops.registry.v1.RolloutSpec, serialized by the service layer.
  std::string spec;
  int64_t primary_version = 0;
  int64_t candidate_version = 0;
  RolloutState state = RolloutState::kPending;
  int current_step = 0;
  std::string transition_request_id;
  std::string started_by;
  int64_t started_at_micros = 0;
  int64_t updated_at_micros = 0;
  std::string reason;
};

// What a gateway reports about a rollout (values match the proto enum).
enum class DeploymentEventType {
  kRolloutStarted = 1,
  kStepAdvanced = 2,
  kRolloutCompleted = 3,
  kRolledBack = 4,
  kLoadFailed = 5,
  kManualRollout = 6,
};

struct DeploymentEvent {
  std::string endpoint;
  DeploymentEventType type = DeploymentEventType::kRolloutStarted;
  std::string rollout_id;
  int64_t primary_version = 0;
  int64_t candidate_version = 0;
  int step = 0;
  double candidate_percent = 0;
  std::string reason;
  std::string details_json;  // analysis figures and the reporting replica, for the audit log
};

// A SetRollout forwarded by a gateway (MANUAL_ROLLOUT): make `spec` the
// endpoint's desired rollout from `primary_version` to `candidate_version`.
struct ManualRollout {
  std::string endpoint;
  std::string spec;     // mlops.registry.v1.RolloutSpec, serialized by the service layer
  bool shadow = false;  // the spec's strategy is SHADOW (a STAGING candidate may run)
  // The endpoint's current primary, computed by the caller from
  // `expected_current_rollout`; the store refuses (ABORTED) if the endpoint's
  // current rollout changed meanwhile.
  int64_t primary_version = 0;
  int64_t candidate_version = 0;
  std::string expected_current_rollout;  // "" when the endpoint never had one
  std::string reason;
  std::string details_json;
};

struct DeploymentEventResult {
  int64_t audit_sequence = 0;
  bool duplicate = false;  // the same report was recorded before; nothing changed
  RolloutRecord rollout;   // the rollout after the event
};

struct ModelRecord {
  std::string name;
  std::string description;
  std::string owner;
  Tags tags;
  int64_t created_at_micros = 0;
  std::string created_by;
  int64_t latest_version = 0;
  int64_t production_version = 0;  // 0 = none
  std::vector<int64_t> staging_versions;
  int64_t version_count = 0;
  std::vector<AliasRecord> aliases;
  // Bumped by every committed transition; a transition evaluated against an
  // older generation is ABORTED (exactly one of concurrent promotions wins).
  int64_t generation = 0;
};

struct EvaluationRecord {
  std::string name;             // "test" when empty
  std::string dataset_version;  // sha256 hex
  std::map<std::string, double> metrics;
  int64_t recorded_at_micros = 0;
};

struct VersionRecord {
  std::string model;
  int64_t version = 0;
  Stage stage = Stage::kNone;
  int64_t stage_changed_at_micros = 0;
  std::string artifact_sha256;
  int64_t artifact_size = 0;
  std::string run_id;
  std::string training_dataset_version;
  Tags tags;
  std::vector<EvaluationRecord> evaluations;
  std::vector<std::string> aliases;
  int64_t created_at_micros = 0;
  std::string created_by;
  // Everything else of the registration header (signature, lineage, docs,
  // flavor), serialized by the service layer; opaque to the domain and store.
  std::string metadata;
};

// A new version: the record (version/stage/times assigned by the store) and
// where its artifact comes from: `artifact_bytes` (verified against
// record.artifact_sha256/size and stored at registration), an artifact
// already stored (by_reference), or a file to import (import_uri).
struct NewVersion {
  VersionRecord record;
  std::string artifact_bytes;
  bool create_model_if_missing = false;
  // The artifact is an already stored one (record.artifact_sha256); no bytes.
  bool by_reference = false;
  // "file:///abs/path": imported into the artifact store at registration
  // (verified against record.artifact_sha256 / artifact_size).
  std::string import_uri;
  // The request field naming the reference, for error messages.
  std::string reference_field = "artifact_reference.uri";
};

// "The version's `metric` in its evaluation `evaluation_name` compares to
// `value`". The value used is the most recent one: from the latest evaluation
// of that name that has the metric (by recorded time, then order).
struct MetricCondition {
  std::string metric;
  Comparison comparison = Comparison::kGreaterOrEqual;
  double value = 0;
  std::string evaluation_name = "test";
};

enum class VersionOrder { kVersionDesc, kVersionAsc, kMetricDesc, kMetricAsc };

struct VersionFilter {
  std::string model;  // empty: all models
  std::vector<Stage> stages;
  Tags tags;  // every tag must match
  std::vector<MetricCondition> metrics;  // every condition must hold
  std::string run_id;
  std::string training_dataset_version;
  int64_t created_from_micros = 0;  // 0: unbounded
  int64_t created_to_micros = 0;    // 0: unbounded; exclusive
  // Version orders sort by (model, version). Metric orders sort by the value
  // of `order_metric` in `order_evaluation_name` (as in MetricCondition),
  // versions lacking it last, ties by (model, version) ascending.
  VersionOrder order = VersionOrder::kVersionDesc;
  std::string order_metric;
  std::string order_evaluation_name = "test";
  // Paging: versions after this key in the order (for metric orders, also
  // after the sort value `after_metric`; nullopt = the last page ended among
  // the versions lacking the metric).
  std::string after_model;
  int64_t after_version = 0;
  std::optional<double> after_metric;
  int limit = 100;
};

// The value metric orders sort `v` by (the rule of MetricCondition).
std::optional<double> LatestMetricValue(const VersionRecord& v, const std::string& metric,
                                        const std::string& evaluation_name);

}  // namespace mlops::registry
