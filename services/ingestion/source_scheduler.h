#pragma once
// SourceScheduler: the background loop that pulls scheduled sources. Every
// `poll` it asks the store which unpaused sources with an interval are due
// (next_pull_at <= now; kept in Postgres, so the schedule survives a
// restart) and pulls each once through SourcePuller, one at a time: at most
// one scheduled pull runs at any moment per scheduler, and at most
// `max_pulls_per_tick` per round. Owns its thread; thread-safe. Stop() (also
// the destructor) waits for the pull in progress, which is bounded by the
// source's statement timeout or file size.
#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/ingestion/source_puller.h"

namespace mlops::ingestion {

struct SourceSchedulerOptions {
  absl::Duration poll = absl::Seconds(1);
  int max_pulls_per_tick = 16;
};

class SourceScheduler {
 public:
  // Does not own the puller (it must outlive the scheduler).
  explicit SourceScheduler(SourcePuller* puller, SourceSchedulerOptions options = {})
      : puller_(puller), options_(options) {}
  ~SourceScheduler();
  SourceScheduler(const SourceScheduler&) = delete;
  SourceScheduler& operator=(const SourceScheduler&) = delete;

  // Starts the loop (once).
  void Start();
  // Stops the loop and joins it; idempotent.
  void Stop();
  // One round: pulls every due source once. Returns how many pulls ran.
  int RunDue();

 private:
  void Loop();

  SourcePuller* puller_;
  SourceSchedulerOptions options_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace mlops::ingestion
