#pragma once
// The watched phases of the closed-loop demo, each keeping live traffic going
// while it waits: after the drift, monitoring's alert, the retraining it
// starts and the canary of the retrained model; then a deliberately worse
// candidate that the canary analysis must roll back by itself. Each phase
// records when things happened (server times where the service reports them)
// into a Timeline, and the demo prints it at the end.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/demo/live_traffic.h"
#include "tests/demo/platform_client.h"

namespace mlops::demo {

// Prints "[mm:ss] text" lines, timed from its construction. Thread-compatible.
class Narrator {
 public:
  Narrator() : start_(absl::Now()) {}
  void Say(const std::string& text) const;

 private:
  const absl::Time start_;
};

struct Timeline {
  absl::Time drifted_at = absl::InfinitePast();
  absl::Time alert_at = absl::InfinitePast();      // the alert's fired_at
  absl::Time retrained_at = absl::InfinitePast();  // the retraining job's finished_at
  absl::Time canary_at = absl::InfinitePast();     // first seen IN_PROGRESS with the new version
  absl::Time promoted_at = absl::InfinitePast();   // the rollout's finished_at (COMPLETED)
  int64_t first = 0, second = 0, third = 0;        // fraud@first -> @second; @third the worse one
  double second_auc = 0;                           // fraud@second's test AUC
  absl::Time worse_canary_at = absl::InfinitePast();
  absl::Time worse_rolled_back_at = absl::InfinitePast();
  std::string worse_reason;
};

// What the phases share. Not owned.
struct LoopContext {
  PlatformClient& platform;
  LiveTraffic& traffic;
  const Narrator& narrator;
  absl::Time give_up;
};

// "v1: 120, v2: 30": rows scored by each version so far.
std::string VersionCounts(const LiveTraffic::Stats& stats);
// "12.3 s", or "-" when either end is unknown.
std::string Between(absl::Time from, absl::Time to);

// 5-7: injects the drift (timeline->drifted_at), waits for the alert, the
// retraining job it started, and that job's canary to complete.
absl::Status CloseTheLoop(const LoopContext& loop, TransactionGenerator& generator,
                          Timeline* timeline);

// 8: a miscalibrated candidate asks for production; the canary analysis
// must roll it back and production must stay at timeline->second.
absl::Status RollBackWorseCandidate(const LoopContext& loop, Timeline* timeline);

// The timeline, where the model card is, and where to look in Prometheus
// (`prometheus_url` empty: none was started).
void PrintTimeline(const Narrator& narrator, const Timeline& timeline,
                   const std::string& prometheus_url);

}  // namespace mlops::demo
