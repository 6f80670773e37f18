#pragma once

// The lifecycle of alerts, one per (model, policy, version) at a time:
// condition true -> PENDING; still true `for_micros` after it first held ->
// FIRING (actions run once); condition false -> RESOLVED (a PENDING alert
// that clears resolves without having fired). Below the policy's minimum
// samples nothing changes. Plain C++ with an injected clock; not thread-safe
// (AlertEvaluator serializes calls).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace mlops::monitoring {

enum class AlertPhase { kPending = 1, kFiring = 2, kResolved = 3 };

// The numbering of mlops.monitoring.v1.Comparison.
enum class CompareOp { kDriftFlag = 0, kGreaterOrEqual = 1, kLessOrEqual = 2, kGreater = 3, kLess = 4 };

// `value <op> threshold`; kDriftFlag is never true here (the caller uses the
// drift report's flag instead).
bool ConditionHolds(double value, CompareOp op, double threshold);

struct AlertKey {
  std::string model;
  std::string policy;
  int64_t version = 0;
  bool operator<(const AlertKey& o) const {
    return std::tie(model, policy, version) < std::tie(o.model, o.policy, o.version);
  }
};

// What one observation did to a key's alert.
enum class AlertTransition {
  kNone,           // no alert, or not enough samples
  kCreatePending,  // a new alert, PENDING
  kCreateFiring,   // a new alert, FIRING at once (for-duration 0)
  kStillPending,   // open alert, value updated
  kStillFiring,
  kFire,           // PENDING -> FIRING
  kResolve,        // PENDING or FIRING -> RESOLVED
};

// The times of an alert after a transition.
struct AlertTimes {
  AlertPhase phase = AlertPhase::kPending;
  int64_t pending_since_micros = 0;
  int64_t fired_at_micros = 0;     // 0 if never
  int64_t resolved_at_micros = 0;  // 0 if open
};

struct AlertStep {
  AlertTransition transition = AlertTransition::kNone;
  AlertTimes times;  // meaningful unless kNone
};

// One judgement of a policy's condition over one span of windows.
struct WindowObservation {
  int64_t samples = 0;
  bool condition = false;
};

// Which span an alert round judges. Every round measures the last closed
// window(s) and, for window metrics, the span ending with the still-open
// window (early, partial-window evaluation). The open span is judged when it
// holds `min_samples` and its condition holds (it can raise or keep an alert
// before its window ends); otherwise the closed span, when it holds
// `min_samples`; otherwise whichever exists (the state machine then sees too
// few samples and changes nothing). So an alert a closed window raised
// resolves only once a closed window is clean, never on a partial window.
enum class JudgedSpan { kNone, kClosed, kOpen };
JudgedSpan ChooseJudgedSpan(const std::optional<WindowObservation>& closed,
                            const std::optional<WindowObservation>& open, int64_t min_samples);

class AlertStateMachine {
 public:
  explicit AlertStateMachine(std::function<int64_t()> now_micros);

  // One evaluation of the key's condition.
  AlertStep Observe(const AlertKey& key, bool enough_samples, bool condition, int64_t for_micros);

  // Resolves the key's open alert (policy deleted or changed); kNone when
  // there is none.
  AlertStep Resolve(const AlertKey& key);

  // Re-opens an alert loaded from the store (after a restart).
  void Restore(const AlertKey& key, const AlertTimes& times);

  std::optional<AlertTimes> Open(const AlertKey& key) const;
  // Open keys of (model, policy), every version.
  std::vector<AlertKey> OpenKeys(const std::string& model, const std::string& policy) const;

 private:
  std::function<int64_t()> now_micros_;
  std::map<AlertKey, AlertTimes> open_;
};

}  // namespace mlops::monitoring
