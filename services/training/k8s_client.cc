#include "services/training/k8s_client.h"

#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/http/http_url.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace mlops::training {
namespace {

constexpr char kUserAgent[] = "mlops-training";

struct ApiBase {
  std::string url;  // without trailing slashes
  bool tls = false;
};

// The API server's base URL; INVALID_ARGUMENT naming the server when it is
// not an http(s) URL with a host.
absl::StatusOr<ApiBase> ParseApiBase(const std::string& server) {
  ApiBase base{server};
  while (!base.url.empty() && base.url.back() == '/') base.url.pop_back();
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(base.url);
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Kubernetes API server \"", server, "\": ", url.status().message()));
  }
  base.tls = url->tls;
  return base;
}

std::string ReadToken(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

// The "message" of a Kubernetes Status object, or the body's start.
std::string ApiMessage(const std::string& body) {
  google::protobuf::Struct s;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  if (google::protobuf::util::JsonStringToMessage(body, &s, o).ok()) {
    auto it = s.fields().find("message");
    if (it != s.fields().end() && !it->second.string_value().empty()) return it->second.string_value();
  }
  return body.substr(0, 300);
}

}  // namespace

absl::Status K8sHttpError(const std::string& what, const HttpResult& r) {
  const std::string msg = absl::StrCat(what, ": HTTP ", r.status, ": ", ApiMessage(r.body));
  switch (r.status) {
    case 404: return absl::NotFoundError(msg);
    case 409: return absl::AlreadyExistsError(msg);
    case 401:
    case 403: return absl::PermissionDeniedError(msg);
    case 400:
    case 422: return absl::InvalidArgumentError(msg);
    default: break;
  }
  if (r.status == 429 || r.status >= 500) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

absl::Status K8sClient::Prepare(const std::string& method, const std::string& target, const std::string& body,
                               std::unique_ptr<HttpClient>* client, HttpCall* call) const {
  absl::StatusOr<ApiBase> base = ParseApiBase(options_.server);
  if (!base.ok()) return base.status();
  if (!base->tls || options_.ca_file.empty()) {  // the CA file matters for https only
    *client = HttpClient::WithSystemCas(kUserAgent);
  } else {
    absl::StatusOr<std::unique_ptr<HttpClient>> with_ca = HttpClient::WithCaFile(options_.ca_file, kUserAgent);
    if (!with_ca.ok()) return with_ca.status();
    *client = std::move(*with_ca);
  }
  call->method = method;
  call->url = absl::StrCat(base->url, target);
  call->headers.emplace_back("Accept", "application/json");
  const std::string token = ReadToken(options_.token_file);
  if (!token.empty()) call->headers.emplace_back("Authorization", absl::StrCat("Bearer ", token));
  if (!body.empty()) call->headers.emplace_back("Content-Type", "application/json");
  call->body = body;
  call->timeout = absl::FromChrono(options_.request_timeout);
  call->max_body_bytes = std::uint64_t{256} << 20;  // pod logs are read whole
  return absl::OkStatus();
}

absl::StatusOr<HttpResult> K8sClient::Request(const std::string& method, const std::string& target,
                                              const std::string& body) const {
  std::unique_ptr<HttpClient> client;
  HttpCall call;
  absl::Status prepared = Prepare(method, target, body, &client, &call);
  if (!prepared.ok()) return prepared;
  absl::StatusOr<HttpAnswer> answer = client->Send(call);
  if (!answer.ok()) {
    return absl::Status(answer.status().code(),
                        absl::StrCat("Kubernetes API ", options_.server, ": ", answer.status().message()));
  }
  HttpResult r;
  r.status = answer->status;
  r.body = std::move(answer->body);
  return r;
}

absl::Status K8sClient::FollowPodLog(const std::string& ns, const std::string& pod, const std::string& since_time,
                                     std::chrono::milliseconds idle,
                                     const std::function<void(std::string_view)>& on_data,
                                     const std::function<bool()>& should_stop) const {
  std::string target = absl::StrCat("/api/v1/namespaces/", ns, "/pods/", pod,
                                    "/log?container=trainer&follow=true&timestamps=true");
  if (!since_time.empty()) absl::StrAppend(&target, "&sinceTime=", since_time);  // RFC 3339: no escaping needed
  std::unique_ptr<HttpClient> client;
  HttpCall call;
  absl::Status prepared = Prepare("GET", target, "", &client, &call);
  if (!prepared.ok()) return prepared;
  HttpStreamHooks hooks;
  hooks.on_body = on_data;
  hooks.should_stop = should_stop;
  hooks.idle_timeout = idle.count() > 0 ? absl::FromChrono(idle) : absl::InfiniteDuration();
  absl::StatusOr<HttpAnswer> answer = client->SendStreaming(call, hooks);
  if (!answer.ok()) {
    return absl::Status(answer.status().code(), absl::StrCat("following the log of pod ", pod, ": Kubernetes API ",
                                                             options_.server, ": ", answer.status().message()));
  }
  if (answer->status / 100 != 2) {
    return K8sHttpError(absl::StrCat("following the log of pod ", pod), HttpResult{answer->status, answer->body});
  }
  return absl::OkStatus();
}

absl::Status K8sClient::CreateJob(const std::string& ns, const std::string& manifest_json) {
  absl::StatusOr<HttpResult> r = Request("POST", absl::StrCat("/apis/batch/v1/namespaces/", ns, "/jobs"), manifest_json);
  if (!r.ok()) return r.status();
  if (r->status / 100 == 2) return absl::OkStatus();
  return K8sHttpError("creating the Job", *r);
}

absl::StatusOr<K8sJobStatus> K8sClient::GetJob(const std::string& ns, const std::string& name) {
  absl::StatusOr<HttpResult> r = Request("GET", absl::StrCat("/apis/batch/v1/namespaces/", ns, "/jobs/", name), "");
  if (!r.ok()) return r.status();
  if (r->status / 100 != 2) return K8sHttpError(absl::StrCat("reading Job ", name), *r);
  return ParseJobStatus(r->body);
}

absl::Status K8sClient::DeleteJob(const std::string& ns, const std::string& name) {
  absl::StatusOr<HttpResult> r = Request(
      "DELETE", absl::StrCat("/apis/batch/v1/namespaces/", ns, "/jobs/", name, "?propagationPolicy=Background"), "");
  if (!r.ok()) return r.status();
  if (r->status / 100 == 2 || r->status == 404) return absl::OkStatus();
  return K8sHttpError(absl::StrCat("deleting Job ", name), *r);
}

absl::StatusOr<std::vector<K8sPodState>> K8sClient::JobPods(const std::string& ns, const std::string& job_name) {
  absl::StatusOr<HttpResult> r =
      Request("GET", absl::StrCat("/api/v1/namespaces/", ns, "/pods?labelSelector=job-name%3D", job_name), "");
  if (!r.ok()) return r.status();
  if (r->status / 100 != 2) return K8sHttpError(absl::StrCat("listing the pods of Job ", job_name), *r);
  return ParsePodList(r->body);
}

absl::StatusOr<std::string> K8sClient::PodLog(const std::string& ns, const std::string& pod, int64_t limit_bytes) {
  absl::StatusOr<HttpResult> r = Request(
      "GET", absl::StrCat("/api/v1/namespaces/", ns, "/pods/", pod, "/log?container=trainer"), "");
  if (!r.ok()) return r.status();
  if (r->status / 100 != 2) return K8sHttpError(absl::StrCat("reading the log of pod ", pod), *r);
  // The API's limitBytes keeps the head; the contract keeps the tail.
  if (limit_bytes >= 0 && r->body.size() > static_cast<std::size_t>(limit_bytes)) {
    return r->body.substr(r->body.size() - static_cast<std::size_t>(limit_bytes));
  }
  return std::move(r->body);
}

}  // namespace mlops::training
