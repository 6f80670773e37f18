#pragma once
// Gate policies and their evaluation: pure functions, no I/O, thread-safe.
//
// A policy has one StageGate per gated stage (STAGING, PRODUCTION). A gate's
// automated checks are thresholds (metric <op> value) and champion/challenger
// comparisons (the candidate must beat the champion on the same evaluation
// data by a minimum absolute or relative improvement, direction per metric);
// approvals are counted separately (CountsAsApproval, ApprovalsComplete).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/auth/role.h"
#include "services/registry/registry_types.h"

namespace mlops::registry {

enum class Direction { kHigherIsBetter = 1, kLowerIsBetter = 2 };
enum class CheckKind {
  kThreshold = 1,
  kChampionChallenger = 2,
  kLatency = 3,
  kBias = 4,
  kRegressionSet = 5,
  kApprovals = 6,
  kStagingRequired = 7,
};
enum class CheckOutcome { kPassed = 1, kFailed = 2, kError = 3, kPending = 4 };

struct ThresholdCheck {
  std::string name;  // empty: "threshold <metric> <op> <value>"
  std::string metric;
  Comparison comparison = Comparison::kGreaterOrEqual;
  double value = 0;
  std::string evaluation_name;  // empty: "test"
};

struct ChampionChallengerCheck {
  std::string name;
  std::string metric;
  Direction direction = Direction::kHigherIsBetter;
  bool relative = false;       // min_improvement is a fraction of |champion|
  double min_improvement = 0;  // negative: non-inferiority margin
  std::string evaluation_name;  // empty: "test"
  bool fail_if_no_champion = false;
  // The champion is the version this alias points at; empty: the current
  // PRODUCTION version.
  std::string champion_alias;
};

struct ApprovalRequirement {
  int count = 0;
  Role role = Role::kDeployer;
};

struct StageGate {
  std::vector<ThresholdCheck> thresholds;
  std::vector<ChampionChallengerCheck> champion_challenger;
  ApprovalRequirement approvals;
  // Latency, bias and regression-set tests that load the artifact, serialized
  // by the service layer (mlops.registry.v1.StageGate holding only those
  // lists); empty when there are none. Run through a ModelTester.
  std::string model_tests;
};

// A bias check's metric in one group.
struct GroupValue {
  std::string group;
  double value = 0;
  int64_t count = 0;
};

// A regression-set row whose output was outside the tolerance.
struct Mismatch {
  int64_t row = 0;
  std::vector<double> expected;
  std::vector<double> actual;
};

struct GatePolicy {
  std::string model;
  StageGate staging;
  StageGate production;
  bool require_staging_before_production = false;
  int64_t policy_version = 0;  // 0: never set (empty policy)
  int64_t updated_at_micros = 0;
  std::string updated_by;
};

struct CheckResult {
  std::string name;
  CheckKind kind = CheckKind::kThreshold;
  CheckOutcome outcome = CheckOutcome::kPassed;
  std::string metric;
  double measured = 0;
  double limit = 0;
  Comparison comparison = Comparison::kGreaterOrEqual;
  double candidate_value = 0;
  double champion_value = 0;
  int64_t champion_version = 0;
  std::string message;
  std::vector<GroupValue> groups;      // bias checks
  std::vector<Mismatch> mismatches;    // regression-set checks (the first 20)
  int64_t duration_micros = 0;
};

// Groups and mismatches as one text blob for storage, and back. Pure.
std::string EncodeCheckDetails(const CheckResult& check);
absl::Status DecodeCheckDetails(const std::string& blob, CheckResult* check);

struct GateReport {
  bool passed = true;
  int64_t policy_version = 0;
  Stage target_stage = Stage::kStaging;
  int64_t evaluated_at_micros = 0;
  std::vector<CheckResult> checks;
};

// Validates a policy's parameters: InvalidArgument naming the field.
absl::Status ValidateGatePolicy(const GatePolicy& policy);

// The gate of `target` (STAGING or PRODUCTION; other stages have no gate).
const StageGate* GateFor(const GatePolicy& policy, Stage target);

// The most recently recorded evaluation named `name` ("test" when empty).
const EvaluationRecord* FindEvaluation(const VersionRecord& v, const std::string& name);

CheckResult EvaluateThreshold(const ThresholdCheck& check, const VersionRecord& candidate);
// `champion` null: no champion (first deployment).
CheckResult EvaluateChampionChallenger(const ChampionChallengerCheck& check,
                                       const VersionRecord& candidate,
                                       const VersionRecord* champion);

// Appends `extra` checks (model tests) and recomputes `passed`.
void AddChecks(std::vector<CheckResult> extra, GateReport* report);

// The champion of a check: the version `alias` points at ("" = the current
// PRODUCTION version); null when there is none (or it is the candidate).
using ChampionLookup = std::function<const VersionRecord*(const std::string& alias)>;

// Runs every automated check of `gate` but the model tests.
// passed = no check FAILED or ERROR.
GateReport EvaluateGate(const StageGate& gate, Stage target, const VersionRecord& candidate,
                        const ChampionLookup& champion_of, int64_t policy_version,
                        int64_t now_micros);
// The same with one champion for every check, whatever its alias.
GateReport EvaluateGate(const StageGate& gate, Stage target, const VersionRecord& candidate,
                        const VersionRecord* champion, int64_t policy_version, int64_t now_micros);

// "threshold auc >= 0.85: measured 0.81; ..." for every failed check.
std::string DescribeFailures(const GateReport& report);

const char* ComparisonSymbol(Comparison c);

// Four eyes: may `approver` approve a request made by `requester` that needs
// `required` (admin always qualifies)? PermissionDenied when the approver is
// the requester or lacks the role; AlreadyExists when they approved already.
absl::Status CheckApprover(const Principal& approver, const std::string& requester,
                           Role required, const std::vector<std::string>& approved_by);

}  // namespace mlops::registry
