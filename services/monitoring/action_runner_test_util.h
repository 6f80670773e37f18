#pragma once

// Test helpers of the ActionRunner tests: a sink collecting action results,
// a firing alert, a started runner with fast retries.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/monitoring/action_runner.h"

namespace mlops::monitoring {

// Collects results; waits (bounded) for a final one.
class Results {
 public:
  ActionResultSink Sink() {
    return [this](const std::string& id, int index, const v1::ActionResult& r) {
      absl::MutexLock lock(&mu_);
      results_[{id, index}].push_back(r);
    };
  }
  // The results of (id, index) once one is SUCCEEDED or FAILED (5 s at most).
  std::vector<v1::ActionResult> Final(const std::string& id, int index) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      auto it = results_.find({id, index});
      return it != results_.end() &&
             (it->second.back().status() == v1::ACTION_STATUS_SUCCEEDED ||
              it->second.back().status() == v1::ACTION_STATUS_FAILED);
    };
    mu_.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(5));
    return results_[{id, index}];
  }

 private:
  absl::Mutex mu_;
  std::map<std::pair<std::string, int>, std::vector<v1::ActionResult>> results_;
};

inline v1::Alert FiringAlert() {
  v1::Alert a;
  a.set_id("alert-7");
  a.set_model("fraud");
  a.set_version(3);
  a.set_policy("drift");
  a.set_state(v1::ALERT_STATE_FIRING);
  a.set_summary("feature amount drift");
  return a;
}

// A started runner with fast retries reporting to `results`.
inline std::unique_ptr<ActionRunner> Started(Results* results, RetrainClient* retrain = nullptr,
                                             RollbackClient* rollback = nullptr,
                                             const WebhookClient* webhooks = nullptr) {
  ActionRunnerOptions o;
  o.webhooks = webhooks;
  o.backoff_base_micros = 20'000;
  auto runner = std::make_unique<ActionRunner>(retrain, rollback, o);
  runner->SetResultSink(results->Sink());
  runner->Start();
  return runner;
}

}  // namespace mlops::monitoring
