#include "services/gateway/rollout.h"

#include "common/stats/hash.h"

namespace mlops::gateway {

bool IsActive(RolloutState s) {
  return s == RolloutState::kPending || s == RolloutState::kInProgress;
}

double CandidatePercent(const RolloutPlan& plan, RolloutState state, int step) {
  if (state != RolloutState::kInProgress) return 0;
  switch (plan.strategy) {
    case Strategy::kCanary:
      if (plan.steps.empty()) return 0;
      if (step < 0) step = 0;
      if (step >= static_cast<int>(plan.steps.size())) step = static_cast<int>(plan.steps.size()) - 1;
      return plan.steps[step].percent;
    case Strategy::kShadow:
      return 0;
    case Strategy::kAb:
      return plan.ab_percent;
    case Strategy::kBlueGreen:
      return 100;
  }
  return 0;
}

int64_t StepWindowMicros(const RolloutPlan& plan, int step) {
  if (plan.strategy == Strategy::kCanary) {
    if (step < 0 || step >= static_cast<int>(plan.steps.size())) return 0;
    return plan.steps[step].window_micros;
  }
  return plan.window_micros;
}

int64_t StepMinRequests(const RolloutPlan& plan, int step) {
  if (plan.strategy == Strategy::kCanary) {
    if (step < 0 || step >= static_cast<int>(plan.steps.size())) return 0;
    return plan.steps[step].min_requests;
  }
  if (plan.strategy == Strategy::kAb) return plan.min_requests;
  if (plan.strategy == Strategy::kBlueGreen && plan.window_micros == 0) return 0;
  return plan.thresholds.min_requests;
}

uint64_t StableHash(std::string_view salt, std::string_view key) {
  return stats::XxHash64(key, stats::XxHash64(salt, 0x9e3779b97f4a7c15ULL));
}

int Bucket(uint64_t hash) { return static_cast<int>(hash % 10000); }

namespace {
bool InPercent(uint64_t hash, double percent) {
  return Bucket(hash) < static_cast<int>(percent * 100.0 + 0.5);
}
}  // namespace

RowRoute RouteRow(const RolloutPlan& plan, RolloutState state, int step,
                  std::string_view entity_key, std::string_view row_id) {
  RowRoute route;
  if (state != RolloutState::kInProgress) return route;
  switch (plan.strategy) {
    case Strategy::kShadow:
      route.shadow = InPercent(StableHash("shadow", row_id), plan.mirror_percent);
      return route;
    case Strategy::kAb: {
      std::string_view key = entity_key.empty() ? row_id : entity_key;
      route.candidate = InPercent(StableHash(plan.ab_salt, key), plan.ab_percent);
      return route;
    }
    case Strategy::kCanary:
    case Strategy::kBlueGreen:
      route.candidate =
          InPercent(StableHash("canary", row_id), CandidatePercent(plan, state, step));
      return route;
  }
  return route;
}

}  // namespace mlops::gateway
