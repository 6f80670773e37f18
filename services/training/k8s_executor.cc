#include "services/training/k8s_executor.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace mlops::training {

void KubernetesExecutor::CollectPod(const std::string& job_name, CommandOutcome* out) {
  const std::string& ns = options_.job.namespace_name;
  absl::StatusOr<std::vector<K8sPodState>> pods = client_.JobPods(ns, job_name);
  if (!pods.ok() || pods->empty()) {
    if (!pods.ok()) LogWarn("k8s_pods_unread", {{"job", job_name}, {"status", pods.status().ToString()}});
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
  absl::StatusOr<std::string> log = client_.PodLog(ns, pod.name, options_.max_log_bytes);
  if (log.ok()) {
    out->stdout_text = std::move(*log);
  } else {
    LogWarn("k8s_pod_log_unread", {{"pod", pod.name}, {"status", log.status().ToString()}});
  }
}

absl::StatusOr<CommandOutcome> KubernetesExecutor::Execute(const CommandInvocation& inv,
                                                           const std::function<bool()>& should_stop,
                                                           const CommandLineFn& /*on_line*/) {
  const std::string& ns = options_.job.namespace_name;
  const std::string name = K8sJobName(inv.run_id);
  absl::StatusOr<std::string> manifest = BuildJobManifest(options_.job, inv);
  if (!manifest.ok()) return manifest.status();
  absl::Status created = client_.CreateJob(ns, *manifest);
  if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
  LogInfo("k8s_job_created", {{"job", name}, {"namespace", ns}, {"run", inv.run_id},
                              {"existing", absl::IsAlreadyExists(created) ? "true" : "false"}});

  CommandOutcome out;
  const auto start = std::chrono::steady_clock::now();
  const auto give_up = start + inv.timeout + options_.deadline_margin;
  int errors = 0;
  // Bounded by give_up (the Job's deadline plus a margin) and max_poll_errors.
  while (true) {
    if (should_stop && should_stop()) {
      out.stopped = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      out.timed_out = true;
      out.detail = "the Job did not end by its deadline";
      break;
    }
    absl::StatusOr<K8sJobStatus> status = client_.GetJob(ns, name);
    if (!status.ok()) {
      if (absl::IsNotFound(status.status()) || ++errors > options_.max_poll_errors) {
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
    std::this_thread::sleep_for(options_.poll_interval);
  }
  CollectPod(name, &out);
  if (out.exited && out.exit_code == 0) out.detail.clear();
  // Deleting stops a running pod (SIGTERM, then SIGKILL after its grace) and
  // cleans up a finished one; ttlSecondsAfterFinished is the fallback.
  absl::Status deleted = client_.DeleteJob(ns, name);
  if (!deleted.ok()) LogWarn("k8s_job_not_deleted", {{"job", name}, {"status", deleted.ToString()}});
  return out;
}

}  // namespace mlops::training
