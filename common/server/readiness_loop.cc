#include "common/server/readiness_loop.h"

#include <algorithm>
#include <string>
#include <utility>

#include "common/log/log.h"

namespace mlops {
namespace {

std::string Millis(absl::Duration d) { return std::to_string(absl::ToInt64Milliseconds(d)); }

}  // namespace

absl::Duration NextBackoff(absl::Duration current, absl::Duration max) {
  if (current <= absl::ZeroDuration()) return std::min(absl::Milliseconds(1), max);
  return std::min(current * 2, max);
}

ReadinessLoop::ReadinessLoop(ReadinessOptions options, std::function<void(bool)> set_serving)
    : options_(std::move(options)), set_serving_(std::move(set_serving)) {}

ReadinessLoop::~ReadinessLoop() { Stop(); }

void ReadinessLoop::Start() {
  if (thread_.joinable() || stop_.HasBeenNotified()) return;
  thread_ = std::thread([this] { Run(); });
}

void ReadinessLoop::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

bool ReadinessLoop::started_up() const {
  absl::MutexLock lock(&mu_);
  return started_up_;
}

bool ReadinessLoop::serving() const {
  absl::MutexLock lock(&mu_);
  return serving_;
}

void ReadinessLoop::Report(bool serving) {
  {
    absl::MutexLock lock(&mu_);
    serving_ = serving;
  }
  if (set_serving_) set_serving_(serving);
}

void ReadinessLoop::Run() {
  // Startup: retry with exponential backoff until OK or Stop().
  absl::Duration backoff = options_.initial_backoff;
  for (int attempt = 1; options_.startup; ++attempt) {
    if (stop_.HasBeenNotified()) return;
    const absl::Status status = options_.startup();
    if (stop_.HasBeenNotified()) return;
    if (status.ok()) {
      LogInfo("startup_done", {{"attempts", std::to_string(attempt)}});
      break;
    }
    LogWarn("startup_failed", {{"attempt", std::to_string(attempt)},
                               {"error", status.ToString()},
                               {"retry_in_ms", Millis(backoff)}});
    if (stop_.WaitForNotificationWithTimeout(backoff)) return;
    backoff = NextBackoff(backoff, options_.max_backoff);
  }
  {
    absl::MutexLock lock(&mu_);
    started_up_ = true;
  }
  Report(true);
  if (!options_.probe) return;

  // Probing: flip on every change, log transitions only.
  bool healthy = true;
  while (!stop_.WaitForNotificationWithTimeout(options_.probe_interval)) {
    const absl::Status status = options_.probe();
    if (stop_.HasBeenNotified()) return;
    if (status.ok() == healthy) continue;
    healthy = status.ok();
    if (healthy) {
      LogInfo("health_probe_recovered");
    } else {
      LogWarn("health_probe_failed", {{"error", status.ToString()}});
    }
    Report(healthy);
  }
}

}  // namespace mlops
