#pragma once
// K8sClient: the few Kubernetes API calls command trainers need (create,
// read and delete a batch/v1 Job; list its pods; read a pod's log), over
// HTTP/1.1 through common/http's HttpClient: https with the service account's CA and bearer
// token in a cluster (the token file is read for every request, since
// projected tokens rotate), plain http for a local API proxy or a test's
// fake server. One connection per request; a followed log streams over its
// own connection while the pod runs. Thread-safe (no shared mutable
// state).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http/http_client.h"
#include "services/training/k8s_manifest.h"

namespace mlops::training {

struct K8sApiOptions {
  // "https://kubernetes.default.svc" in a pod (KUBERNETES_SERVICE_HOST/PORT
  // give the same), or "http://127.0.0.1:8001" (kubectl proxy, tests).
  std::string server = "https://kubernetes.default.svc";
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";  // "" = no token
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";    // https only
  std::chrono::milliseconds request_timeout{10000};
};

struct HttpResult {
  int status = 0;
  std::string body;
};

class K8sClient {
 public:
  explicit K8sClient(K8sApiOptions options) : options_(std::move(options)) {}

  // POST the Job. AlreadyExists (409) when a Job of that name exists.
  absl::Status CreateJob(const std::string& ns, const std::string& manifest_json);
  // GET the Job's status. NotFound when it is gone.
  absl::StatusOr<K8sJobStatus> GetJob(const std::string& ns, const std::string& name);
  // DELETE the Job and its pods (propagationPolicy Background); NotFound is OK.
  absl::Status DeleteJob(const std::string& ns, const std::string& name);
  // The pods of a Job (label job-name=<name>).
  absl::StatusOr<std::vector<K8sPodState>> JobPods(const std::string& ns, const std::string& job_name);
  // The last `limit_bytes` of a pod's log (stdout and stderr interleaved;
  // the log is read whole, up to 256 MiB).
  absl::StatusOr<std::string> PodLog(const std::string& ns, const std::string& pod, int64_t limit_bytes);

  // Follows the "trainer" container's log (follow=true, timestamps=true;
  // sinceTime when `since_time` is not empty): each piece of it goes to
  // `on_data` as the API sends it, on this thread. OK when the API ended the
  // stream (the container ended, or the server closed it cleanly); the
  // caller checks the pod. Unavailable: the connection dropped;
  // DeadlineExceeded: no answer within request_timeout, or `idle` of
  // silence (0 = no limit); Cancelled: `should_stop` (polled about every 100 ms) said so;
  // the HTTP error otherwise (400 while the container is still waiting).
  absl::Status FollowPodLog(const std::string& ns, const std::string& pod, const std::string& since_time,
                            std::chrono::milliseconds idle,
                            const std::function<void(std::string_view)>& on_data,
                            const std::function<bool()>& should_stop) const;

  // One request, bounded by request_timeout as a whole (resolve, connect,
  // TLS, write, read). DeadlineExceeded: the timeout passed; Unavailable:
  // cannot connect / TLS / protocol errors; FailedPrecondition: the server's
  // certificate is not trusted by ca_file (or the system CAs when empty);
  // the HTTP status otherwise (the caller maps it).
  absl::StatusOr<HttpResult> Request(const std::string& method, const std::string& target,
                                     const std::string& body) const;

 private:
  // The HTTP client and the call (URL, token, headers) for one request.
  absl::Status Prepare(const std::string& method, const std::string& target, const std::string& body,
                       std::unique_ptr<HttpClient>* client, HttpCall* call) const;

  K8sApiOptions options_;
};

// Maps a non-2xx answer to a status: 404 NotFound, 409 AlreadyExists, 401/403
// PermissionDenied, 422/400 InvalidArgument, 5xx/429 Unavailable; the
// message carries the API's own message.
absl::Status K8sHttpError(const std::string& what, const HttpResult& result);

}  // namespace mlops::training
