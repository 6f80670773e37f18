#pragma once
// The Kubernetes side of command trainers as pure functions: the batch/v1
// Job manifest of one trial, and the reading of a Job's status (and its
// pod's exit code) from the API's JSON. The data is handed over through a
// PersistentVolumeClaim mounted in the pod at the same path as the
// service's work root, so the MLOPS_*_FILE paths mean the same in both.
// Also the splitting of a followed pod log into lines (PodLogLines). No I/O.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
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

// Splits a followed pod log (timestamps=true: each line starts with its
// RFC 3339 timestamp and a space) into lines without their timestamps, and
// makes a reconnect seamless: Resume() says which sinceTime to ask for (the
// API takes whole seconds) and the lines of the new stream up to the last
// one handed out are dropped (by timestamp, counting lines that share the
// last timestamp). A line without a readable timestamp is handed out whole.
// A partial line is handed out only at the stream's clean end (Finish).
// Not thread-safe.
class PodLogLines {
 public:
  using LineFn = std::function<void(std::string line)>;
  // Appends a piece of the stream; `emit` gets each complete new line.
  void Feed(std::string_view data, const LineFn& emit);
  // The stream ended with the pod: hands out the last unterminated line.
  void Finish(const LineFn& emit);
  // Before a reconnect: drops the partial line and returns the sinceTime
  // parameter for the new request ("" before any line came).
  std::string Resume();
  int64_t lines() const { return lines_; }

 private:
  void Line(std::string_view line, const LineFn& emit);

  std::string partial_;
  bool have_last_ = false;
  absl::Time last_;        // timestamp of the last line handed out
  int64_t same_last_ = 0;  // lines handed out with exactly that timestamp
  int64_t skip_ = 0;       // of those, how many the new stream still repeats
  int64_t lines_ = 0;
};

}  // namespace mlops::training
