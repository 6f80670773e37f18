#pragma once
// Live traffic for the closed-loop demo. Each Tick() makes the purchases of
// the time since the last tick happen, at `per_second`: they are ingested
// (so the customers' windowed features move), scored through the gateway
// with the purchase's own values inline and the rest fetched by customer id,
// and their true labels reach monitoring
// `label_delay` later, as a fraud team's reviews would. Not thread-safe.

#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tests/demo/platform_client.h"
#include "tests/demo/transactions.h"

namespace mlops::demo {

class LiveTraffic {
 public:
  struct Stats {
    int64_t scored = 0;
    std::map<int64_t, int64_t> scored_by_version;  // model version -> rows
    int64_t labels_sent = 0;
    int64_t failed_calls = 0;
  };

  LiveTraffic(PlatformClient& platform, TransactionGenerator& generator, double per_second,
              absl::Duration label_delay)
      : platform_(platform), generator_(generator), per_second_(per_second), label_delay_(label_delay) {}

  // One round: ingest, score, send the labels that are due. A failed call is
  // counted and returned; the next tick goes on.
  absl::Status Tick();
  const Stats& stats() const { return stats_; }

 private:
  struct PendingLabel {
    std::string request_id;
    bool is_fraud = false;
    absl::Time due;
  };
  absl::Status SendDueLabels(absl::Time now);

  PlatformClient& platform_;
  TransactionGenerator& generator_;
  const double per_second_;
  absl::Time last_tick_ = absl::InfinitePast();
  const absl::Duration label_delay_;
  int64_t tick_ = 0;
  std::deque<PendingLabel> pending_;
  Stats stats_;
};

}  // namespace mlops::demo
