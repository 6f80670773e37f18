#pragma once

// HttpClient: an HTTP/1.1 client for small control-plane calls (alert
// webhooks, the Kubernetes API). One request per call over a fresh
// connection (Connection: close), plain http:// or https:// (Boost.Beast over
// OpenSSL), with one deadline covering resolve, connect, the TLS handshake,
// the write and reading the whole answer. https verifies the server's
// certificate chain and its name (DNS name or IP address) against the system
// CA bundle, or against a PEM file of private CAs given at construction; SNI
// is sent for DNS names. Owns the TLS context (read-only after construction).
// Thread-safe: each call has its own io_context and connection.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mlops {

struct HttpCall {
  std::string method = "GET";
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with Content-Length when not empty
  absl::Duration timeout = absl::Seconds(10);
  std::uint64_t max_body_bytes = std::uint64_t{1} << 20;  // a longer answer is UNAVAILABLE
};

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// How HttpClient::SendStreaming hands over a body and is interrupted.
struct HttpStreamHooks {
  // Each piece of a 2xx answer's body, as it arrives, on the calling thread.
  std::function<void(std::string_view)> on_body;
  // Polled about every `poll` (may be null); true ends the call at once
  // (CANCELLED) and closes the connection.
  std::function<bool()> should_stop;
  absl::Duration poll = absl::Milliseconds(100);
  // The longest silence allowed once the answer's header came
  // (DEADLINE_EXCEEDED past it).
  absl::Duration idle_timeout = absl::InfiniteDuration();
};

class HttpClient {
 public:
  // Trusts the system CA bundle (OpenSSL's default paths, SSL_CERT_FILE /
  // SSL_CERT_DIR; Debian's /etc/ssl/certs/ca-certificates.crt when the
  // default file is absent, as in the scratch images).
  static std::unique_ptr<HttpClient> WithSystemCas(std::string user_agent);
  // Trusts only the CAs in `ca_file` (PEM). FAILED_PRECONDITION when the file
  // cannot be read or holds no certificate.
  static absl::StatusOr<std::unique_ptr<HttpClient>> WithCaFile(const std::string& ca_file,
                                                                std::string user_agent);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The answer (any status code). DEADLINE_EXCEEDED when `call.timeout`
  // passes; UNAVAILABLE for resolve / connection / protocol / TLS errors and
  // answers longer than `max_body_bytes`; FAILED_PRECONDITION when the
  // server's certificate is not trusted (the message says why: OpenSSL's
  // verification error); INVALID_ARGUMENT for a bad URL or method.
  absl::StatusOr<HttpAnswer> Send(const HttpCall& call) const;

  // Like Send, for answers that last (a followed log): `call.timeout` bounds
  // the exchange up to the answer's header only; a 2xx answer's body then
  // goes to `hooks.on_body` piece by piece while it arrives (the returned
  // body stays empty), until the server ends it. Another status's body is
  // returned whole (up to 1 MiB). Besides Send's errors: UNAVAILABLE when
  // the connection drops before the body's end (a chunked body cut short),
  // DEADLINE_EXCEEDED past `hooks.idle_timeout` of silence, CANCELLED when
  // `hooks.should_stop` said so.
  absl::StatusOr<HttpAnswer> SendStreaming(const HttpCall& call, const HttpStreamHooks& hooks) const;

  // What the client trusts, for messages: "system CA bundle" or the file.
  const std::string& trust() const { return trust_; }

 private:
  struct Tls;
  HttpClient(std::unique_ptr<Tls> tls, std::string trust, std::string user_agent);

  std::unique_ptr<Tls> tls_;
  std::string trust_;
  std::string user_agent_;
};

}  // namespace mlops
