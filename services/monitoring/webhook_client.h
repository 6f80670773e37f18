#pragma once

// WebhookClient: the HTTP/1.1 client of alert webhooks. One POST of a JSON
// body per call over a fresh connection (Connection: close), plain http:// or
// https:// (Boost.Beast over OpenSSL), with one deadline covering resolve,
// connect, the TLS handshake, the write and reading the answer's header.
// https verifies the server's certificate chain and its name (DNS name or
// IP address) against the system CA bundle, or against a PEM file of private
// CAs given at construction; SNI is sent for DNS names. Owns the TLS context
// (read-only after construction). Thread-safe: each call has its own
// io_context and connection.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mlops::monitoring {

struct HttpUrl {
  bool tls = false;    // https://
  std::string host;
  std::string port;    // "80" / "443" by default
  std::string target;  // path and query, "/" by default
};

// INVALID_ARGUMENT for a malformed URL or a scheme other than http / https.
absl::StatusOr<HttpUrl> ParseHttpUrl(const std::string& url);

class WebhookClient {
 public:
  // Trusts the system CA bundle (OpenSSL's default paths, SSL_CERT_FILE /
  // SSL_CERT_DIR; Debian's /etc/ssl/certs/ca-certificates.crt when the
  // default file is absent, as in the scratch images).
  static std::unique_ptr<WebhookClient> WithSystemCas();
  // Trusts only the CAs in `ca_file` (PEM). FAILED_PRECONDITION when the file
  // cannot be read or holds no certificate.
  static absl::StatusOr<std::unique_ptr<WebhookClient>> WithCaFile(const std::string& ca_file);
  ~WebhookClient();
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  // Returns the answer's status code. DEADLINE_EXCEEDED when `timeout`
  // passes; UNAVAILABLE for resolve / connection / protocol / TLS errors;
  // FAILED_PRECONDITION when the server's certificate is not trusted (the
  // message says why: OpenSSL's verification error); INVALID_ARGUMENT for a
  // bad URL.
  absl::StatusOr<int> PostJson(const std::string& url, const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               absl::Duration timeout) const;

  // What the client trusts, for messages: "system CA bundle" or the file.
  const std::string& trust() const { return trust_; }

 private:
  struct Tls;
  WebhookClient(std::unique_ptr<Tls> tls, std::string trust);

  std::unique_ptr<Tls> tls_;
  std::string trust_;
};

}  // namespace mlops::monitoring
