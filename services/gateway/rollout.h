#pragma once
// Rollouts as plain data (no protos): the plan a rollout follows (parsed
// from mlops.registry.v1.RolloutSpec in rollout_convert.h), its persisted
// record, and the routing decision for one row as pure functions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mlops::gateway {

enum class Strategy { kCanary = 1, kShadow = 2, kAb = 3, kBlueGreen = 4 };
// Same numbers as mlops.registry.v1.RolloutState; only moves forward.
enum class RolloutState { kPending = 1, kInProgress = 2, kCompleted = 3, kRolledBack = 4,
                          kSuperseded = 5 };
enum class ShiftMetric { kPsi = 1, kJensenShannon = 2, kKs = 3 };

struct CanaryStepPlan {
  double percent = 0;
  int64_t window_micros = 0;
  int64_t min_requests = 100;
};

// Thresholds on the candidate; 0 = not checked.
struct Thresholds {
  double max_error_rate = 0;
  int64_t max_p99_latency_micros = 0;
  double max_prediction_shift = 0;
  ShiftMetric shift_metric = ShiftMetric::kPsi;
  int64_t min_requests = 100;  // candidate rows before error rate, p99, shift are judged
};

struct RolloutPlan {
  Strategy strategy = Strategy::kCanary;
  std::vector<CanaryStepPlan> steps;  // canary
  double mirror_percent = 0;          // shadow
  double min_agreement_rate = 0;      // shadow; 0 = not checked
  double agreement_tolerance = 1e-6;  // shadow, regression
  double max_mean_abs_diff = 0;       // shadow; 0 = not checked
  bool promote_on_success = false;    // shadow
  double ab_percent = 0;              // A/B
  std::string ab_salt;                // A/B
  int64_t window_micros = 0;          // shadow, A/B, blue-green (0 = complete at once)
  int64_t min_requests = 100;         // A/B
  Thresholds thresholds;
  bool auto_rollback = true;
};

struct RolloutRecord {
  std::string rollout_id;
  std::string endpoint;
  std::string model;
  int origin = 2;          // mlops.registry.v1.RolloutOrigin number
  std::string spec_bytes;  // serialized mlops.registry.v1.RolloutSpec
  int64_t primary_version = 0;
  int64_t candidate_version = 0;
  RolloutState state = RolloutState::kPending;
  int step = 0;
  int64_t started_at_micros = 0;
  int64_t step_started_at_micros = 0;
  int64_t finished_at_micros = 0;
  std::string started_by;
  std::string rollback_reason;
};

bool IsActive(RolloutState s);

// The candidate's share of answered traffic, in [0, 100] (shadow: 0).
double CandidatePercent(const RolloutPlan& plan, RolloutState state, int step);

// The analysis window of `step` (canary) or of the rollout (others).
int64_t StepWindowMicros(const RolloutPlan& plan, int step);
// Candidate rows needed before the step can pass.
int64_t StepMinRequests(const RolloutPlan& plan, int step);

// What answers one row and whether it is mirrored to the candidate as a shadow.
struct RowRoute {
  bool candidate = false;
  bool shadow = false;
};

// A stable 64-bit hash of `key` salted with `salt` (XxHash64).
uint64_t StableHash(std::string_view salt, std::string_view key);
// Bucket in [0, 10000) of a hash: percent p covers buckets [0, p * 100).
int Bucket(uint64_t hash);

// Routes one row. `entity_key` is the row's key in a canonical text form
// (empty when it has none); `row_id` is the row's request id (unique per row).
// A/B is sticky: the same salt and entity key always go the same way.
RowRoute RouteRow(const RolloutPlan& plan, RolloutState state, int step,
                  std::string_view entity_key, std::string_view row_id);

}  // namespace mlops::gateway
