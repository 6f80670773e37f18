#pragma once
// KubernetesExecutor: runs a command trainer as a batch/v1 Job (manifest
// from k8s_manifest.h) through the Kubernetes API (K8sClient): creates the
// Job (an existing Job of the same run is watched, not created twice), polls
// its status until Complete / Failed / DeadlineExceeded, follows the pod's
// log while it runs (PodLogFollower: each line goes to the caller's line
// callback on the calling thread, like the local executor's), reads the
// pod's exit code, keeps the log's tail as stdout (stdout and stderr
// interleaved; read whole at the end only when the follow missed part of
// it), and deletes the Job afterwards (and at once on a stop request or when
// the service's own deadline — the Job's deadline plus a margin — passes).
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "services/training/command_executor.h"
#include "services/training/k8s_client.h"
#include "services/training/k8s_manifest.h"
#include "services/training/process_runner.h"

namespace mlops::training {

struct PodLogFollowOptions {
  std::chrono::milliseconds pod_poll_interval{2000};  // waiting for the pod / its container to start
  // Silence after which the stream is reopened (resuming, no duplicates).
  std::chrono::milliseconds idle_timeout{300000};
  std::chrono::milliseconds backoff_initial{200};  // doubling between reconnects
  std::chrono::milliseconds backoff_max{10000};
  int max_reconnects = 20;  // consecutive failed attempts (no data) before giving up
  std::size_t max_tail_bytes = 10 << 20;
};

// PodLogFollower: follows the log of a Job's pod on its own thread, from
// Start() until a stream opened after the pod ended has ended (complete: a
// stream that ends while the pod still shows as running is followed by one
// more, from its last line), it gives up after
// `max_reconnects` failed attempts in a row, or Stop(). Waits for the pod
// and its container to start; when the stream drops while the pod runs it
// reconnects with backoff from the last line's timestamp (PodLogLines drops
// what it already handed out). Lines (cut at 4096 bytes, as the local
// executor's) wait in a queue for TakeLines(); the log's tail is kept
// whole. Owns its thread. Thread-safe.
class PodLogFollower {
 public:
  PodLogFollower(K8sClient* client, std::string ns, std::string job_name, PodLogFollowOptions options);
  ~PodLogFollower();  // Stop()
  PodLogFollower(const PodLogFollower&) = delete;
  PodLogFollower& operator=(const PodLogFollower&) = delete;

  void Start();
  // Interrupts a follow in progress (within about 100 ms) and joins.
  void Stop();
  // The lines that came since the last call, in order.
  std::vector<std::string> TakeLines();
  bool finished() const;  // the thread ended
  bool complete() const;  // the whole log was read, to the pod's end
  std::string Tail() const;  // the kept tail of the log ("line\n" each)

 private:
  void Loop();
  void Emit(std::string line);
  // Sleeps up to `d`; false when stopped meanwhile.
  bool Wait(std::chrono::milliseconds d);
  bool stopping() const;

  K8sClient* client_;
  const std::string ns_, job_name_;
  const PodLogFollowOptions options_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool complete_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> pending_ ABSL_GUARDED_BY(mu_);
  TailBuffer tail_ ABSL_GUARDED_BY(mu_);
};

struct KubernetesExecutorOptions {
  K8sJobOptions job;
  K8sApiOptions api;
  std::chrono::milliseconds poll_interval{2000};
  // Past the Job's own deadline, how long we wait for Kubernetes to say so.
  std::chrono::milliseconds deadline_margin{60000};
  // Consecutive failed status reads before the trial fails.
  int max_poll_errors = 30;
  int64_t max_log_bytes = 10 << 20;
  PodLogFollowOptions log;  // pod_poll_interval and max_tail_bytes come from above
  // After the Job ended, how long the followed log may take to reach its end.
  std::chrono::milliseconds log_drain{10000};
};

class KubernetesExecutor final : public CommandExecutor {
 public:
  explicit KubernetesExecutor(KubernetesExecutorOptions options)
      : options_(std::move(options)), client_(options_.api) {}
  std::string name() const override { return "kubernetes"; }
  absl::StatusOr<CommandOutcome> Execute(const CommandInvocation& invocation,
                                         const std::function<bool()>& should_stop,
                                         const CommandLineFn& on_line) override;

 private:
  // The pod's exit code and log into the outcome (best effort): the
  // followed log when it is complete, else the log read whole.
  void CollectPod(const std::string& job_name, const PodLogFollower& follower, CommandOutcome* out);

  KubernetesExecutorOptions options_;
  K8sClient client_;
};

}  // namespace mlops::training
