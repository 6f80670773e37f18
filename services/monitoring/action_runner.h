#pragma once

// Runs the actions of firing (and resolved) alerts on worker threads, so the
// alert loop never waits on them: webhooks (HTTP POST of the alert as JSON,
// http or https, retried with exponential backoff on connection errors,
// timeouts and 5xx; an untrusted certificate is not retried),
// retraining (the training service's FireTrigger naming the alert) and
// rollback (the gateway's Rollback with the alert as reason). Every attempt's
// outcome is reported to the result sink (the AlertEvaluator stores it on the
// alert). A missing peer or an error answer is recorded, never thrown.
// Thread-safe; owns its workers and its bounded queue.

#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/monitoring/alert_evaluator.h"
#include "services/monitoring/webhook_client.h"

namespace mlops::monitoring {

// Fires a training trigger (production: TrainingService.FireTrigger).
class RetrainClient {
 public:
  virtual ~RetrainClient() = default;
  // Returns what it produced (e.g. "job-1 STARTED").
  virtual absl::StatusOr<std::string> Fire(const std::string& trigger_id, const v1::Alert& alert) = 0;
};

// Rolls an endpoint back (production: InferenceService.Rollback).
class RollbackClient {
 public:
  virtual ~RollbackClient() = default;
  // Returns the rollout id.
  virtual absl::StatusOr<std::string> Rollback(const std::string& endpoint,
                                               const v1::Alert& alert) = 0;
};

struct ActionRunnerOptions {
  int workers = 4;
  size_t max_queued = 10'000;  // beyond: the action is recorded FAILED at once
  // Backoff before retry k (k >= 1): base * 2^(k-1); the contract's 1 s, 2 s, 4 s.
  int64_t backoff_base_micros = 1'000'000;
  // Retries of retrain / rollback calls answering UNAVAILABLE or DEADLINE_EXCEEDED.
  int peer_retries = 3;
  std::function<int64_t()> now_micros;  // default: the wall clock
  // Posts webhooks (http and https); null: a client trusting the system CA
  // bundle, owned by the runner. Not owned; outlives the runner.
  const WebhookClient* webhooks = nullptr;
};

using ActionResultSink =
    std::function<void(const std::string& alert_id, int index, const v1::ActionResult& result)>;

class ActionRunner : public AlertActions {
 public:
  // `retrain` / `rollback` may be null (the peer is not configured): those
  // actions fail with a message saying so.
  ActionRunner(RetrainClient* retrain, RollbackClient* rollback, ActionRunnerOptions options = {});
  ~ActionRunner() override;  // Stop()
  ActionRunner(const ActionRunner&) = delete;
  ActionRunner& operator=(const ActionRunner&) = delete;

  // Where results go; set before Start().
  void SetResultSink(ActionResultSink sink);
  void Start();
  // Stops the workers; queued attempts are dropped (logged).
  void Stop();

  void Run(const v1::Alert& alert, const v1::AlertPolicy& policy, bool on_resolve) override;

 private:
  struct Task {
    v1::Alert alert;
    v1::AlertAction action;
    int index = 0;
    bool on_resolve = false;
    int attempts = 0;
    int64_t not_before_micros = 0;
    v1::ActionResult result;
  };
  struct Later {
    bool operator()(const std::shared_ptr<Task>& a, const std::shared_ptr<Task>& b) const {
      return a->not_before_micros > b->not_before_micros;
    }
  };
  // One attempt: OK with the result text, or the error and whether to retry.
  absl::StatusOr<std::string> Attempt(const Task& task, bool* retryable);
  void Work();
  void Enqueue(std::shared_ptr<Task> task);
  void Report(const Task& task);
  int64_t Now() const;

  RetrainClient* const retrain_;
  RollbackClient* const rollback_;
  const ActionRunnerOptions options_;
  std::unique_ptr<WebhookClient> own_webhooks_;  // when options_.webhooks is null
  const WebhookClient* const webhooks_;
  ActionResultSink sink_;

  absl::Mutex mu_;
  std::priority_queue<std::shared_ptr<Task>, std::vector<std::shared_ptr<Task>>, Later> queue_
      ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace mlops::monitoring
