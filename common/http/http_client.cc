#include "common/http/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/http/http_exchange.h"
#include "common/http/http_url.h"
#include "common/status/status_macros.h"

namespace mlops {

namespace http_internal {

absl::Status HandshakeError(SSL* ssl, const beast::error_code& ec, const std::string& trust) {
  const long verify = SSL_get_verify_result(ssl);  // NOLINT(runtime/int): OpenSSL's type
  if (verify != X509_V_OK) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS handshake: server certificate not trusted: ",
                     X509_verify_cert_error_string(verify), " (trusting the ", trust, ")"));
  }
  return absl::UnavailableError(absl::StrCat("TLS handshake: ", ec.message()));
}

}  // namespace http_internal

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using http_internal::Answer;
using http_internal::HttpExchange;

// Debian's bundle, for images whose OpenSSL default file is absent.
constexpr char kDebianCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";

bool Readable(const char* path) {
  if (path == nullptr) return false;
  std::FILE* f = std::fopen(path, "r");
  if (f == nullptr) return false;
  std::fclose(f);
  return true;
}

bool IsIpAddress(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

absl::StatusOr<http::request<http::string_body>> BuildRequest(const HttpUrl& url, const HttpCall& call,
                                                              const std::string& user_agent) {
  const http::verb verb = http::string_to_verb(call.method);
  if (verb == http::verb::unknown) {
    return absl::InvalidArgumentError(absl::StrCat("method: unknown HTTP method \"", call.method, "\""));
  }
  http::request<http::string_body> req{verb, url.target, 11};
  const bool default_port = url.port == (url.tls ? "443" : "80");
  const std::string host = url.host.find(':') != std::string::npos ? absl::StrCat("[", url.host, "]") : url.host;
  req.set(http::field::host, default_port ? host : absl::StrCat(host, ":", url.port));
  req.set(http::field::user_agent, user_agent);
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : call.headers) req.set(k, v);
  req.body() = call.body;
  req.prepare_payload();
  return req;
}

// Runs one exchange on `io` until it ends (the exchange's timer bounds it).
template <typename Stream>
absl::StatusOr<HttpAnswer> Run(asio::io_context& io, const std::shared_ptr<HttpExchange<Stream>>& exchange,
                               const HttpUrl& url, http::request<http::string_body> req,
                               const HttpCall& call) {
  exchange->Start(url.host, url.port, std::move(req),
                  std::chrono::microseconds(absl::ToInt64Microseconds(call.timeout)),
                  call.max_body_bytes);
  io.run();
  absl::StatusOr<Answer>& result = exchange->result();
  if (!result.ok()) return result.status();
  return HttpAnswer{result->status, std::move(result->body)};
}

// Runs one streaming exchange on `io` in slices of `hooks.poll`, ending it
// when the caller stops it or the body stays silent too long. Bounded: after
// Abort the cancelled operations finish within a few slices; io.stop() is
// the last resort.
template <typename Stream>
absl::StatusOr<HttpAnswer> RunStreaming(asio::io_context& io, const std::shared_ptr<HttpExchange<Stream>>& exchange,
                                        const HttpUrl& url, http::request<http::string_body> req,
                                        const HttpCall& call, const HttpStreamHooks& hooks) {
  exchange->SetStreaming(hooks.on_body);
  exchange->Start(url.host, url.port, std::move(req),
                  std::chrono::microseconds(absl::ToInt64Microseconds(call.timeout)), 0);
  const auto slice = std::chrono::microseconds(std::max<int64_t>(1000, absl::ToInt64Microseconds(hooks.poll)));
  const bool idle_bounded = hooks.idle_timeout != absl::InfiniteDuration();
  const auto idle = std::chrono::microseconds(idle_bounded ? absl::ToInt64Microseconds(hooks.idle_timeout) : 0);
  int slices_after_end = 0;
  while (!io.stopped()) {
    io.run_for(slice);
    if (exchange->ended()) {
      if (++slices_after_end > 50) io.stop();  // cancelled operations normally finish at once
      continue;
    }
    if (hooks.should_stop && hooks.should_stop()) {
      exchange->Abort(absl::CancelledError("stopped while reading the answer"));
    } else if (idle_bounded && exchange->header_read() &&
               std::chrono::steady_clock::now() - exchange->last_activity() > idle) {
      exchange->Abort(absl::DeadlineExceededError("the answer's body stayed silent too long"));
    }
  }
  absl::StatusOr<Answer>& result = exchange->result();
  if (!result.ok()) return result.status();
  return HttpAnswer{result->status, std::move(result->body)};
}

// Asks OpenSSL to check that the certificate names `host` (an IP SAN for an
// address, a DNS name otherwise) and sends SNI for a DNS name.
absl::Status NameTheHost(SSL* ssl, const std::string& host) {
  if (IsIpAddress(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1) return absl::OkStatus();
  } else if (SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("url: bad host \"", host, "\""));
}

}  // namespace

struct HttpClient::Tls {
  asio::ssl::context context{asio::ssl::context::tls_client};
};

HttpClient::HttpClient(std::unique_ptr<Tls> tls, std::string trust, std::string user_agent)
    : tls_(std::move(tls)), trust_(std::move(trust)), user_agent_(std::move(user_agent)) {}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient> HttpClient::WithSystemCas(std::string user_agent) {
  auto tls = std::make_unique<Tls>();
  beast::error_code ec;
  tls->context.set_default_verify_paths(ec);
  const char* env_file = std::getenv(X509_get_default_cert_file_env());
  if (env_file == nullptr && !Readable(X509_get_default_cert_file()) && Readable(kDebianCaBundle)) {
    tls->context.load_verify_file(kDebianCaBundle, ec);
  }
  tls->context.set_verify_mode(asio::ssl::verify_peer);
  return std::unique_ptr<HttpClient>(
      new HttpClient(std::move(tls), "system CA bundle", std::move(user_agent)));
}

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::WithCaFile(const std::string& ca_file,
                                                                   std::string user_agent) {
  auto tls = std::make_unique<Tls>();
  beast::error_code ec;
  tls->context.load_verify_file(ca_file, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat("CA file \"", ca_file, "\": ", ec.message()));
  }
  tls->context.set_verify_mode(asio::ssl::verify_peer);
  return std::unique_ptr<HttpClient>(
      new HttpClient(std::move(tls), absl::StrCat("CA file ", ca_file), std::move(user_agent)));
}

absl::StatusOr<HttpAnswer> HttpClient::Send(const HttpCall& call) const {
  MLOPS_ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(call.url));
  MLOPS_ASSIGN_OR_RETURN(http::request<http::string_body> req, BuildRequest(url, call, user_agent_));
  try {
    asio::io_context io;
    if (!url.tls) {
      auto exchange = std::make_shared<HttpExchange<beast::tcp_stream>>(io, trust_, io);
      return Run(io, exchange, url, std::move(req), call);
    }
    auto exchange = std::make_shared<HttpExchange<beast::ssl_stream<beast::tcp_stream>>>(
        io, trust_, io, tls_->context);
    MLOPS_RETURN_IF_ERROR(NameTheHost(exchange->stream().native_handle(), url.host));
    return Run(io, exchange, url, std::move(req), call);
  } catch (const std::exception& e) {  // Asio reports a few setup failures by exception
    return absl::UnavailableError(absl::StrCat(call.url, ": ", e.what()));
  }
}

absl::StatusOr<HttpAnswer> HttpClient::SendStreaming(const HttpCall& call, const HttpStreamHooks& hooks) const {
  MLOPS_ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(call.url));
  MLOPS_ASSIGN_OR_RETURN(http::request<http::string_body> req, BuildRequest(url, call, user_agent_));
  if (!hooks.on_body) return absl::InvalidArgumentError("on_body: a streaming call needs a body callback");
  try {
    asio::io_context io;
    if (!url.tls) {
      auto exchange = std::make_shared<HttpExchange<beast::tcp_stream>>(io, trust_, io);
      return RunStreaming(io, exchange, url, std::move(req), call, hooks);
    }
    auto exchange = std::make_shared<HttpExchange<beast::ssl_stream<beast::tcp_stream>>>(
        io, trust_, io, tls_->context);
    MLOPS_RETURN_IF_ERROR(NameTheHost(exchange->stream().native_handle(), url.host));
    return RunStreaming(io, exchange, url, std::move(req), call, hooks);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(call.url, ": ", e.what()));
  }
}

}  // namespace mlops
