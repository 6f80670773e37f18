#include "services/training/k8s_executor.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/log/log.h"

namespace mlops::training {
namespace {

constexpr std::size_t kMaxLineBytes = 4096;  // as ProcessRunner's lines
constexpr int kMaxFollowRounds = 1000000;   // bound; Stop() or the log's end come first

}  // namespace

PodLogFollower::PodLogFollower(K8sClient* client, std::string ns, std::string job_name,
                               PodLogFollowOptions options)
    : client_(client),
      ns_(std::move(ns)),
      job_name_(std::move(job_name)),
      options_(options),
      tail_(options.max_tail_bytes) {}

PodLogFollower::~PodLogFollower() { Stop(); }

void PodLogFollower::Start() { thread_ = std::thread([this] { Loop(); }); }

void PodLogFollower::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> PodLogFollower::TakeLines() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> lines;
  lines.swap(pending_);
  return lines;
}

bool PodLogFollower::finished() const {
  absl::MutexLock lock(&mu_);
  return finished_;
}

bool PodLogFollower::complete() const {
  absl::MutexLock lock(&mu_);
  return complete_;
}

std::string PodLogFollower::Tail() const {
  absl::MutexLock lock(&mu_);
  return tail_.Take();
}

bool PodLogFollower::stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

bool PodLogFollower::Wait(std::chrono::milliseconds d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::FromChrono(d));
  return !stop_;
}

void PodLogFollower::Emit(std::string line) {
  absl::MutexLock lock(&mu_);
  tail_.Append(line.data(), line.size());
  tail_.Append("\n", 1);
  if (line.size() > kMaxLineBytes) line.resize(kMaxLineBytes);
  pending_.push_back(std::move(line));
}

void PodLogFollower::Loop() {
  PodLogLines lines;
  const PodLogLines::LineFn emit = [this](std::string line) { Emit(std::move(line)); };
  bool ended_cleanly = false;  // the last follow ended without an error
  bool complete = false;
  int failures = 0;
  std::chrono::milliseconds backoff = options_.backoff_initial;
  for (int round = 0; round < kMaxFollowRounds && !stopping(); ++round) {
    absl::StatusOr<std::vector<K8sPodState>> pods = client_->JobPods(ns_, job_name_);
    if (!pods.ok() || pods->empty()) {  // not created yet, or the API hiccups
      if (!Wait(options_.pod_poll_interval)) break;
      continue;
    }
    // backoffLimit 0: one pod. Once it has ended, a follow returns the rest
    // of its log at once and ends: that one completes the log.
    const K8sPodState pod = pods->back();
    if ((ended_cleanly && !pod.terminated) || failures > 0) {  // reconnecting
      if (!Wait(backoff)) break;
      backoff = std::min(backoff * 2, options_.backoff_max);
    }
    uint64_t received = 0;
    absl::Status followed = client_->FollowPodLog(
        ns_, pod.name, lines.Resume(), options_.idle_timeout,
        [&](std::string_view data) {
          received += data.size();
          lines.Feed(data, emit);
        },
        [this] { return stopping(); });
    if (stopping()) break;
    if (followed.ok() && pod.terminated) {
      lines.Finish(emit);
      complete = true;
      break;
    }
    ended_cleanly = followed.ok();
    if (received > 0) {
      failures = 0;
      backoff = options_.backoff_initial;
    }
    if (absl::IsInvalidArgument(followed)) {  // 400: the container is still waiting to start
      ended_cleanly = false;
      if (!Wait(options_.pod_poll_interval)) break;
      continue;
    }
    if (!followed.ok() && ++failures > options_.max_reconnects) {
      LogWarn("k8s_log_follow_gave_up", {{"job", job_name_}, {"pod", pod.name}, {"status", followed.ToString()}});
      break;
    }
    if (!followed.ok()) {
      LogInfo("k8s_log_follow_reconnect", {{"job", job_name_}, {"pod", pod.name}, {"status", followed.ToString()}});
    }
  }
  absl::MutexLock lock(&mu_);
  finished_ = true;
  complete_ = complete;
}

void KubernetesExecutor::CollectPod(const std::string& job_name, const PodLogFollower& follower,
                                    CommandOutcome* out) {
  const std::string& ns = options_.job.namespace_name;
  absl::StatusOr<std::vector<K8sPodState>> pods = client_.JobPods(ns, job_name);
  if (!pods.ok() || pods->empty()) {
    if (!pods.ok()) LogWarn("k8s_pods_unread", {{"job", job_name}, {"status", pods.status().ToString()}});
    if (follower.complete()) out->stdout_text = follower.Tail();
    return;
  }
  const K8sPodState& pod = pods->back();  // backoffLimit 0: one pod
  if (pod.terminated && !out->timed_out && !out->stopped) {
    out->exited = true;
    out->exit_code = pod.exit_code;
    if (pod.exit_code != 0 && !pod.reason.empty() && pod.reason != "Error" && pod.reason != "Completed") {
      out->detail = out->detail.empty() ? pod.reason : absl::StrCat(pod.reason, "; ", out->detail);  // OOMKilled
    }
  }
  if (follower.complete()) {  // every line came through the follow: no second read
    out->stdout_text = follower.Tail();
    return;
  }
  absl::StatusOr<std::string> log = client_.PodLog(ns, pod.name, options_.max_log_bytes);
  if (log.ok()) {
    out->stdout_text = std::move(*log);
  } else {
    LogWarn("k8s_pod_log_unread", {{"pod", pod.name}, {"status", log.status().ToString()}});
  }
}

absl::StatusOr<CommandOutcome> KubernetesExecutor::Execute(const CommandInvocation& inv,
                                                           const std::function<bool()>& should_stop,
                                                           const CommandLineFn& on_line) {
  const std::string& ns = options_.job.namespace_name;
  const std::string name = K8sJobName(inv.run_id);
  absl::StatusOr<std::string> manifest = BuildJobManifest(options_.job, inv);
  if (!manifest.ok()) return manifest.status();
  absl::Status created = client_.CreateJob(ns, *manifest);
  if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
  LogInfo("k8s_job_created", {{"job", name}, {"namespace", ns}, {"run", inv.run_id},
                              {"existing", absl::IsAlreadyExists(created) ? "true" : "false"}});

  PodLogFollowOptions follow = options_.log;
  follow.pod_poll_interval = options_.poll_interval;
  follow.max_tail_bytes = static_cast<std::size_t>(std::max<int64_t>(0, options_.max_log_bytes));
  PodLogFollower follower(&client_, ns, name, follow);
  follower.Start();
  // The followed lines reach the caller on this thread, as the local executor's do.
  auto deliver = [&] {
    for (const std::string& line : follower.TakeLines()) {
      if (on_line) on_line("stdout", line);
    }
  };

  CommandOutcome out;
  const auto start = std::chrono::steady_clock::now();
  const auto give_up = start + inv.timeout + options_.deadline_margin;
  // Lines and the stop request are looked at every tick; the Job's status
  // every poll_interval.
  const auto tick = std::min<std::chrono::milliseconds>(options_.poll_interval, std::chrono::milliseconds(100));
  auto next_poll = start;
  int errors = 0;
  // Bounded by give_up (the Job's deadline plus a margin) and max_poll_errors.
  while (true) {
    deliver();
    if (should_stop && should_stop()) {
      out.stopped = true;
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= give_up) {
      out.timed_out = true;
      out.detail = "the Job did not end by its deadline";
      break;
    }
    if (now >= next_poll) {
      next_poll = now + options_.poll_interval;
      absl::StatusOr<K8sJobStatus> status = client_.GetJob(ns, name);
      if (!status.ok()) {
        if (absl::IsNotFound(status.status()) || ++errors > options_.max_poll_errors) {
          follower.Stop();
          deliver();
          client_.DeleteJob(ns, name).IgnoreError();
          return absl::UnavailableError(absl::StrCat("watching Job ", name, ": ", status.status().message()));
        }
      } else {
        errors = 0;
        if (status->phase == K8sJobPhase::kSucceeded) {
          out.exited = true;
          out.exit_code = 0;
          break;
        }
        if (status->phase == K8sJobPhase::kDeadlineExceeded) {
          out.timed_out = true;
          break;
        }
        if (status->phase == K8sJobPhase::kFailed) {
          out.detail = absl::StrCat(status->reason, status->message.empty() ? "" : ": ", status->message);
          break;
        }
      }
    }
    std::this_thread::sleep_for(tick);
  }
  if (!out.stopped && !out.timed_out) {
    // The Job ended: its log stream ends with the container; its last lines
    // may still be on their way.
    const auto drain_until = std::chrono::steady_clock::now() + options_.log_drain;
    while (!follower.finished() && std::chrono::steady_clock::now() < drain_until) {
      deliver();
      if (should_stop && should_stop()) break;
      std::this_thread::sleep_for(tick);
    }
  }
  follower.Stop();
  deliver();
  CollectPod(name, follower, &out);
  if (out.exited && out.exit_code == 0) out.detail.clear();
  // Deleting stops a running pod (SIGTERM, then SIGKILL after its grace) and
  // cleans up a finished one; ttlSecondsAfterFinished is the fallback.
  absl::Status deleted = client_.DeleteJob(ns, name);
  if (!deleted.ok()) LogWarn("k8s_job_not_deleted", {{"job", name}, {"status", deleted.ToString()}});
  return out;
}

}  // namespace mlops::training
