#pragma once
// ReadinessLoop decides when a service is ready: it runs a startup step (e.g.
// connect to Postgres and migrate) until it succeeds, retrying with
// exponential backoff, then reports SERVING; afterwards it runs a health probe
// periodically and reports SERVING / NOT_SERVING as the probe passes or fails
// (e.g. when Postgres goes away).

#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace mlops {

struct ReadinessOptions {
  // Run until it returns OK; empty = ready at once. Each failure is logged.
  std::function<absl::Status()> startup;
  // Run every probe_interval once ready; empty = no probing.
  std::function<absl::Status()> probe;
  absl::Duration initial_backoff = absl::Milliseconds(100);  // doubled per failure
  absl::Duration max_backoff = absl::Seconds(5);
  absl::Duration probe_interval = absl::Seconds(5);
};

// The wait after a failed attempt that waited `current`: doubled, capped at max.
absl::Duration NextBackoff(absl::Duration current, absl::Duration max);

// Owns one background thread (between Start and Stop) that calls the steps and
// `set_serving`. Thread-safe. The step functions and `set_serving` run on that
// thread and must stay valid until Stop() returns.
class ReadinessLoop {
 public:
  ReadinessLoop(ReadinessOptions options, std::function<void(bool serving)> set_serving);
  ~ReadinessLoop();  // Stop()
  ReadinessLoop(const ReadinessLoop&) = delete;
  ReadinessLoop& operator=(const ReadinessLoop&) = delete;

  // Starts the thread; once only.
  void Start();
  // Wakes the thread and joins it; a step already running is awaited (it is
  // not interrupted), no further step or set_serving call happens. Idempotent.
  void Stop();

  // True once the startup step has succeeded.
  bool started_up() const;
  // The last value passed to set_serving (false before the first call).
  bool serving() const;

 private:
  void Run();
  void Report(bool serving);

  const ReadinessOptions options_;
  const std::function<void(bool)> set_serving_;
  absl::Notification stop_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool started_up_ ABSL_GUARDED_BY(mu_) = false;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mlops
