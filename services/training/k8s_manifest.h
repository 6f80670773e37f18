#pragma once
// The Kubernetes side of command trainers as pure functions: the batch/v1
// Job manifest of one trial, and the reading of a Job's status (and its
// pod's exit code) from the API's JSON. The data is handed over through a
// PersistentVolumeClaim mounted in the pod at the same path as the
// service's work root, so the MLOPS_*_FILE paths mean the same in both. No
// I/O; no state.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/training/command_executor.h"

namespace mlops::training {

struct K8sJobOptions {
  std::string namespace_name = "default";
  std::string service_account;  // "" = the namespace's default
  // The claim holding the service's work root (ReadWriteMany), mounted at
  // `work_root` in the pod.
  std::string work_pvc;
  std::string work_root = "/var/lib/mlops/training-runs";
  std::string default_cpu = "1";
  std::string default_memory = "2Gi";
  // If set, MLOPS_TOKEN comes from this Secret's key "token" instead of a
  // literal value in the manifest.
  std::string token_secret;
  std::string image_pull_policy = "IfNotPresent";
  int ttl_seconds_after_finished = 3600;
  int termination_grace_seconds = 10;  // SIGTERM -> SIGKILL in the pod
};

// "mlops-train-" + the run id (a DNS-1123 label).
std::string K8sJobName(const std::string& run_id);

// The Job's JSON: labels app.kubernetes.io/managed-by=mlops-training,
// mlops.dev/run-id, mlops.dev/job-id; backoffLimit 0; activeDeadlineSeconds
// = the timeout rounded up to seconds; restartPolicy Never; the container
// "trainer" with image, command = argv, workingDir = the run's work dir, the
// env, resources (requests = limits = cpu / memory or the defaults), and the
// work volume. InvalidArgument: no image, no work PVC.
absl::StatusOr<std::string> BuildJobManifest(const K8sJobOptions& options, const CommandInvocation& invocation);

// Where a Job is, from its status.
enum class K8sJobPhase { kPending, kSucceeded, kFailed, kDeadlineExceeded };

struct K8sJobStatus {
  K8sJobPhase phase = K8sJobPhase::kPending;
  std::string reason;   // of the Failed condition ("BackoffLimitExceeded", ...)
  std::string message;  // its message
};

// Reads a Job object's JSON (GET .../jobs/<name>). InvalidArgument when it
// is not JSON.
absl::StatusOr<K8sJobStatus> ParseJobStatus(const std::string& json);

struct K8sPodState {
  std::string name;
  bool terminated = false;
  int exit_code = -1;
  std::string reason;  // "Error", "OOMKilled", ...
};

// Reads a PodList's JSON (GET .../pods?labelSelector=job-name=<name>): each
// pod's name and its "trainer" container's terminated state.
absl::StatusOr<std::vector<K8sPodState>> ParsePodList(const std::string& json);

}  // namespace mlops::training
