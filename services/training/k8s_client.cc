#include "services/training/k8s_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace mlops::training {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Endpoint {
  bool tls = false;
  std::string host;
  std::string port;
};

absl::StatusOr<Endpoint> ParseServer(const std::string& server) {
  Endpoint e;
  std::string rest;
  if (server.rfind("https://", 0) == 0) {
    e.tls = true;
    rest = server.substr(8);
  } else if (server.rfind("http://", 0) == 0) {
    rest = server.substr(7);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("Kubernetes API server \"", server, "\": http:// or https:// expected"));
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const std::size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
    e.host = rest.substr(0, colon);
    e.port = rest.substr(colon + 1);
  } else {
    e.host = rest;
    e.port = e.tls ? "443" : "80";
  }
  if (e.host.empty()) return absl::InvalidArgumentError(absl::StrCat("Kubernetes API server \"", server, "\": no host"));
  return e;
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

template <typename Stream>
absl::StatusOr<HttpResult> Exchange(Stream& stream, const http::request<http::string_body>& req) {
  beast::error_code ec;
  http::write(stream, req, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("writing the request: ", ec.message()));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{256} << 20);  // pod logs are read whole
  http::read(stream, buffer, parser, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("reading the answer: ", ec.message()));
  HttpResult r;
  r.status = static_cast<int>(parser.get().result_int());
  r.body = std::move(parser.get().body());
  return r;
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

absl::StatusOr<HttpResult> K8sClient::Request(const std::string& method, const std::string& target,
                                              const std::string& body) const {
  absl::StatusOr<Endpoint> ep = ParseServer(options_.server);
  if (!ep.ok()) return ep.status();
  http::request<http::string_body> req;
  req.method(http::string_to_verb(method));
  req.target(target);
  req.version(11);
  req.set(http::field::host, ep->host);
  req.set(http::field::user_agent, "mlops-training");
  req.set(http::field::accept, "application/json");
  req.set(http::field::connection, "close");
  const std::string token = ReadToken(options_.token_file);
  if (!token.empty()) req.set(http::field::authorization, absl::StrCat("Bearer ", token));
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  try {
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto addresses = resolver.resolve(ep->host, ep->port, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("resolving ", ep->host, ": ", ec.message()));
    if (!ep->tls) {
      beast::tcp_stream stream(io);
      stream.expires_after(options_.request_timeout);
      stream.connect(addresses, ec);
      if (ec) return absl::UnavailableError(absl::StrCat("connecting to ", options_.server, ": ", ec.message()));
      return Exchange(stream, req);
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    if (!options_.ca_file.empty()) {
      ctx.load_verify_file(options_.ca_file, ec);
      if (ec) return absl::FailedPreconditionError(absl::StrCat("CA file ", options_.ca_file, ": ", ec.message()));
    } else {
      ctx.set_default_verify_paths(ec);
    }
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), ep->host.c_str());
    stream.set_verify_callback(asio::ssl::host_name_verification(ep->host));
    beast::get_lowest_layer(stream).expires_after(options_.request_timeout);
    beast::get_lowest_layer(stream).connect(addresses, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("connecting to ", options_.server, ": ", ec.message()));
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("TLS with ", options_.server, ": ", ec.message()));
    return Exchange(stream, req);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("Kubernetes API ", options_.server, ": ", e.what()));
  }
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
