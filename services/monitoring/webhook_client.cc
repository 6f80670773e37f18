#include "services/monitoring/webhook_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/monitoring/webhook_exchange.h"

namespace mlops::monitoring {

namespace webhook_internal {

absl::Status HandshakeError(SSL* ssl, const beast::error_code& ec, const std::string& trust) {
  const long verify = SSL_get_verify_result(ssl);  // NOLINT(runtime/int): OpenSSL's type
  if (verify != X509_V_OK) {
    return absl::FailedPreconditionError(
        absl::StrCat("TLS handshake: server certificate not trusted: ",
                     X509_verify_cert_error_string(verify), " (trusting the ", trust, ")"));
  }
  return absl::UnavailableError(absl::StrCat("TLS handshake: ", ec.message()));
}

}  // namespace webhook_internal

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using webhook_internal::WebhookExchange;

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

http::request<http::string_body> BuildRequest(
    const HttpUrl& url, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  const bool default_port = url.port == (url.tls ? "443" : "80");
  req.set(http::field::host, default_port ? url.host : absl::StrCat(url.host, ":", url.port));
  req.set(http::field::user_agent, "mlops-monitoring");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  return req;
}

// Runs one exchange on `io` until it ends (the exchange's timer bounds it).
template <typename Stream>
absl::StatusOr<int> Run(asio::io_context& io, const std::shared_ptr<WebhookExchange<Stream>>& exchange,
                        const HttpUrl& url, http::request<http::string_body> req,
                        absl::Duration timeout) {
  exchange->Start(url.host, url.port, std::move(req),
                  std::chrono::microseconds(absl::ToInt64Microseconds(timeout)));
  io.run();
  return exchange->result();
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

struct WebhookClient::Tls {
  asio::ssl::context context{asio::ssl::context::tls_client};
};

absl::StatusOr<HttpUrl> ParseHttpUrl(const std::string& url) {
  HttpUrl out;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("url \"", url, "\": http:// or https:// expected"));
  }
  const size_t slash = rest.find('/');
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string authority = rest.substr(0, slash);
  const size_t colon = authority.rfind(':');
  out.host = authority.substr(0, colon);
  out.port = colon == std::string::npos ? (out.tls ? "443" : "80") : authority.substr(colon + 1);
  int port = 0;
  if (out.host.empty() || !absl::SimpleAtoi(out.port, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("url: bad host or port in \"", url, "\""));
  }
  return out;
}

WebhookClient::WebhookClient(std::unique_ptr<Tls> tls, std::string trust)
    : tls_(std::move(tls)), trust_(std::move(trust)) {}

WebhookClient::~WebhookClient() = default;

std::unique_ptr<WebhookClient> WebhookClient::WithSystemCas() {
  auto tls = std::make_unique<Tls>();
  beast::error_code ec;
  tls->context.set_default_verify_paths(ec);
  const char* env_file = std::getenv(X509_get_default_cert_file_env());
  if (env_file == nullptr && !Readable(X509_get_default_cert_file()) && Readable(kDebianCaBundle)) {
    tls->context.load_verify_file(kDebianCaBundle, ec);
  }
  tls->context.set_verify_mode(asio::ssl::verify_peer);
  return std::unique_ptr<WebhookClient>(new WebhookClient(std::move(tls), "system CA bundle"));
}

absl::StatusOr<std::unique_ptr<WebhookClient>> WebhookClient::WithCaFile(const std::string& ca_file) {
  auto tls = std::make_unique<Tls>();
  beast::error_code ec;
  tls->context.load_verify_file(ca_file, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("webhook CA file \"", ca_file, "\": ", ec.message()));
  }
  tls->context.set_verify_mode(asio::ssl::verify_peer);
  return std::unique_ptr<WebhookClient>(
      new WebhookClient(std::move(tls), absl::StrCat("CA file ", ca_file)));
}

absl::StatusOr<int> WebhookClient::PostJson(
    const std::string& url, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers, absl::Duration timeout) const {
  absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return parsed.status();
  http::request<http::string_body> req = BuildRequest(*parsed, body, headers);
  asio::io_context io;
  if (!parsed->tls) {
    auto exchange = std::make_shared<WebhookExchange<beast::tcp_stream>>(io, trust_, io);
    return Run(io, exchange, *parsed, std::move(req), timeout);
  }
  auto exchange = std::make_shared<WebhookExchange<beast::ssl_stream<beast::tcp_stream>>>(
      io, trust_, io, tls_->context);
  MLOPS_RETURN_IF_ERROR(NameTheHost(exchange->stream().native_handle(), parsed->host));
  return Run(io, exchange, *parsed, std::move(req), timeout);
}

}  // namespace mlops::monitoring
