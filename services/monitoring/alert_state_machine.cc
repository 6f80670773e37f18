#include "services/monitoring/alert_state_machine.h"

#include <utility>

namespace mlops::monitoring {

bool ConditionHolds(double value, CompareOp op, double threshold) {
  switch (op) {
    case CompareOp::kGreaterOrEqual:
      return value >= threshold;
    case CompareOp::kLessOrEqual:
      return value <= threshold;
    case CompareOp::kGreater:
      return value > threshold;
    case CompareOp::kLess:
      return value < threshold;
    case CompareOp::kDriftFlag:
      break;
  }
  return false;
}

JudgedSpan ChooseJudgedSpan(const std::optional<WindowObservation>& closed,
                            const std::optional<WindowObservation>& open, int64_t min_samples) {
  if (open.has_value() && open->samples >= min_samples && open->condition) return JudgedSpan::kOpen;
  if (closed.has_value() && closed->samples >= min_samples) return JudgedSpan::kClosed;
  if (open.has_value()) return JudgedSpan::kOpen;
  if (closed.has_value()) return JudgedSpan::kClosed;
  return JudgedSpan::kNone;
}

AlertStateMachine::AlertStateMachine(std::function<int64_t()> now_micros)
    : now_micros_(std::move(now_micros)) {}

AlertStep AlertStateMachine::Observe(const AlertKey& key, bool enough_samples, bool condition,
                                     int64_t for_micros) {
  AlertStep step;
  if (!enough_samples) return step;
  const int64_t now = now_micros_();
  auto it = open_.find(key);
  if (it == open_.end()) {
    if (!condition) return step;
    AlertTimes t;
    t.pending_since_micros = now;
    if (for_micros <= 0) {
      t.phase = AlertPhase::kFiring;
      t.fired_at_micros = now;
      step.transition = AlertTransition::kCreateFiring;
    } else {
      step.transition = AlertTransition::kCreatePending;
    }
    open_.emplace(key, t);
    step.times = t;
    return step;
  }
  AlertTimes& t = it->second;
  if (!condition) {
    t.phase = AlertPhase::kResolved;
    t.resolved_at_micros = now;
    step.transition = AlertTransition::kResolve;
    step.times = t;
    open_.erase(it);
    return step;
  }
  if (t.phase == AlertPhase::kPending && now - t.pending_since_micros >= for_micros) {
    t.phase = AlertPhase::kFiring;
    t.fired_at_micros = now;
    step.transition = AlertTransition::kFire;
  } else {
    step.transition = t.phase == AlertPhase::kPending ? AlertTransition::kStillPending
                                                      : AlertTransition::kStillFiring;
  }
  step.times = t;
  return step;
}

AlertStep AlertStateMachine::Resolve(const AlertKey& key) {
  AlertStep step;
  auto it = open_.find(key);
  if (it == open_.end()) return step;
  step.transition = AlertTransition::kResolve;
  step.times = it->second;
  step.times.phase = AlertPhase::kResolved;
  step.times.resolved_at_micros = now_micros_();
  open_.erase(it);
  return step;
}

void AlertStateMachine::Restore(const AlertKey& key, const AlertTimes& times) {
  open_[key] = times;
}

std::optional<AlertTimes> AlertStateMachine::Open(const AlertKey& key) const {
  auto it = open_.find(key);
  if (it == open_.end()) return std::nullopt;
  return it->second;
}

std::vector<AlertKey> AlertStateMachine::OpenKeys(const std::string& model,
                                                  const std::string& policy) const {
  std::vector<AlertKey> out;
  for (auto it = open_.lower_bound(AlertKey{model, policy, INT64_MIN});
       it != open_.end() && it->first.model == model && it->first.policy == policy; ++it) {
    out.push_back(it->first);
  }
  return out;
}

}  // namespace mlops::monitoring
