#include "services/monitoring/action_runner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "google/protobuf/util/json_util.h"
#include "services/monitoring/webhook_client.h"

namespace mlops::monitoring {
namespace {

constexpr int kDefaultWebhookRetries = 3;
constexpr int64_t kDefaultWebhookTimeoutMicros = 5'000'000;

bool RetryableCode(absl::StatusCode c) {
  return c == absl::StatusCode::kUnavailable || c == absl::StatusCode::kDeadlineExceeded;
}

int MaxRetries(const v1::AlertAction& a, int peer_retries) {
  if (a.has_webhook()) {
    return a.webhook().max_retries() == 0 ? kDefaultWebhookRetries : a.webhook().max_retries();
  }
  return peer_retries;
}

}  // namespace

ActionRunner::ActionRunner(RetrainClient* retrain, RollbackClient* rollback,
                           ActionRunnerOptions options)
    : retrain_(retrain),
      rollback_(rollback),
      options_(std::move(options)),
      own_webhooks_(options_.webhooks == nullptr ? WebhookClient::WithSystemCas() : nullptr),
      webhooks_(options_.webhooks == nullptr ? own_webhooks_.get() : options_.webhooks) {}

ActionRunner::~ActionRunner() { Stop(); }

void ActionRunner::SetResultSink(ActionResultSink sink) { sink_ = std::move(sink); }

int64_t ActionRunner::Now() const {
  return options_.now_micros ? options_.now_micros() : absl::ToUnixMicros(absl::Now());
}

void ActionRunner::Start() {
  absl::MutexLock lock(&mu_);
  if (!workers_.empty() || stop_) return;
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { Work(); });
}

void ActionRunner::Stop() {
  size_t dropped = 0;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    dropped = queue_.size();
  }
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  if (dropped > 0) LogWarn("alert_actions_dropped_on_stop", {{"count", std::to_string(dropped)}});
}

void ActionRunner::Run(const v1::Alert& alert, const v1::AlertPolicy& policy, bool on_resolve) {
  int index = alert.actions_size();  // resolve notifications are appended
  for (int i = 0; i < policy.actions_size(); ++i) {
    const v1::AlertAction& action = policy.actions(i);
    if (on_resolve && !(action.has_webhook() && action.webhook().send_resolved())) continue;
    auto task = std::make_shared<Task>();
    task->alert = alert;
    task->action = action;
    task->index = on_resolve ? index++ : i;
    task->on_resolve = on_resolve;
    task->result = PendingActionResult(action);
    task->result.set_on_resolve(on_resolve);
    Enqueue(std::move(task));
  }
}

void ActionRunner::Enqueue(std::shared_ptr<Task> task) {
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() < options_.max_queued && !stop_) {
      queue_.push(std::move(task));
      return;
    }
  }
  task->result.set_status(v1::ACTION_STATUS_FAILED);
  task->result.set_last_error("action queue full or stopping: not attempted");
  task->result.set_finished_at_micros(Now());
  Report(*task);
}

void ActionRunner::Report(const Task& task) {
  if (sink_) sink_(task.alert.id(), task.index, task.result);
}

absl::StatusOr<std::string> ActionRunner::Attempt(const Task& task, bool* retryable) {
  *retryable = false;
  const v1::AlertAction& a = task.action;
  if (a.has_webhook()) {
    std::string json;
    google::protobuf::util::JsonPrintOptions json_options;
    json_options.preserve_proto_field_names = false;
    if (!google::protobuf::util::MessageToJsonString(task.alert, &json, json_options).ok()) {
      return absl::InternalError("alert does not convert to JSON");
    }
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& h : a.webhook().headers()) headers.emplace_back(h.key(), h.value());
    const int64_t timeout = a.webhook().timeout_micros() == 0 ? kDefaultWebhookTimeoutMicros
                                                              : a.webhook().timeout_micros();
    absl::StatusOr<int> code =
        webhooks_->PostJson(a.webhook().url(), json, headers, absl::Microseconds(timeout));
    if (!code.ok()) {
      *retryable = RetryableCode(code.status().code());
      return code.status();
    }
    if (*code >= 500) {
      *retryable = true;
      return absl::UnavailableError(absl::StrCat("HTTP ", *code));
    }
    if (*code >= 300) return absl::FailedPreconditionError(absl::StrCat("HTTP ", *code));
    return absl::StrCat("HTTP ", *code);
  }
  absl::StatusOr<std::string> out = absl::InternalError("no action set");
  if (a.has_retrain()) {
    if (retrain_ == nullptr) {
      return absl::FailedPreconditionError(
          "no training peer configured (--training_addr): retrain not attempted");
    }
    out = retrain_->Fire(a.retrain().trigger_id(), task.alert);
  } else if (a.has_rollback()) {
    if (rollback_ == nullptr) {
      return absl::FailedPreconditionError(
          "no gateway peer configured (--gateway_addr): rollback not attempted");
    }
    out = rollback_->Rollback(a.rollback().endpoint(), task.alert);
  }
  if (!out.ok()) *retryable = RetryableCode(out.status().code());
  return out;
}

void ActionRunner::Work() {
  // Ends when Stop() sets stop_; each wait is bounded by the next task's time.
  while (true) {
    std::shared_ptr<Task> task;
    {
      absl::MutexLock lock(&mu_);
      while (!stop_) {
        if (!queue_.empty()) {
          const int64_t wait = queue_.top()->not_before_micros - Now();
          if (wait <= 0) break;
          mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Microseconds(wait));
        } else {
          auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return stop_ || !queue_.empty();
          };
          mu_.Await(absl::Condition(&ready));
        }
      }
      if (stop_) return;
      task = queue_.top();
      queue_.pop();
    }
    bool retryable = false;
    absl::StatusOr<std::string> out = Attempt(*task, &retryable);
    task->attempts++;
    task->result.set_attempts(task->attempts);
    const int max_retries = MaxRetries(task->action, options_.peer_retries);
    if (out.ok()) {
      task->result.set_status(v1::ACTION_STATUS_SUCCEEDED);
      task->result.set_result(*out);
      task->result.set_last_error("");
    } else {
      task->result.set_last_error(out.status().ToString());
      const bool retry = retryable && task->attempts <= max_retries;
      task->result.set_status(retry ? v1::ACTION_STATUS_RETRYING : v1::ACTION_STATUS_FAILED);
    }
    if (task->result.status() != v1::ACTION_STATUS_RETRYING) {
      task->result.set_finished_at_micros(Now());
    }
    LogInfo("alert_action", {{"alert", task->alert.id()},
                             {"target", task->result.target()},
                             {"status", v1::ActionStatus_Name(task->result.status())},
                             {"error", task->result.last_error()}});
    Report(*task);
    if (task->result.status() == v1::ACTION_STATUS_RETRYING) {
      task->not_before_micros = Now() + (options_.backoff_base_micros << (task->attempts - 1));
      Enqueue(std::move(task));
    }
  }
}

}  // namespace mlops::monitoring
