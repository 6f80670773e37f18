#pragma once
// KubernetesExecutor: runs a command trainer as a batch/v1 Job (manifest
// from k8s_manifest.h) through the Kubernetes API (K8sClient): creates the
// Job (an existing Job of the same run is watched, not created twice), polls
// its status until Complete / Failed / DeadlineExceeded, reads the pod's exit
// code and log (stdout and stderr interleaved, kept as stdout), and deletes
// the Job afterwards (and at once on a stop request or when the service's
// own deadline — the Job's deadline plus a margin — passes). Thread-safe.

#include <chrono>
#include <string>

#include "services/training/command_executor.h"
#include "services/training/k8s_client.h"
#include "services/training/k8s_manifest.h"

namespace mlops::training {

struct KubernetesExecutorOptions {
  K8sJobOptions job;
  K8sApiOptions api;
  std::chrono::milliseconds poll_interval{2000};
  // Past the Job's own deadline, how long we wait for Kubernetes to say so.
  std::chrono::milliseconds deadline_margin{60000};
  // Consecutive failed status reads before the trial fails.
  int max_poll_errors = 30;
  int64_t max_log_bytes = 10 << 20;
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
  // The pod's exit code and log into the outcome (best effort).
  void CollectPod(const std::string& job_name, CommandOutcome* out);

  KubernetesExecutorOptions options_;
  K8sClient client_;
};

}  // namespace mlops::training
