#pragma once

// WebhookClient: the client of alert webhooks, one POST of a JSON body per
// call over common/http's HttpClient (plain http:// or https://, one deadline
// covering resolve, connect, the TLS handshake, the write and the answer;
// https verified against the system CA bundle or a PEM file of private CAs).
// Owns its HttpClient. Thread-safe.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/http/http_url.h"

namespace mlops::monitoring {

using ::mlops::HttpUrl;
using ::mlops::ParseHttpUrl;

class WebhookClient {
 public:
  // Trusts the system CA bundle (see HttpClient::WithSystemCas).
  static std::unique_ptr<WebhookClient> WithSystemCas();
  // Trusts only the CAs in `ca_file` (PEM). FAILED_PRECONDITION naming the
  // file when it cannot be read or holds no certificate.
  static absl::StatusOr<std::unique_ptr<WebhookClient>> WithCaFile(const std::string& ca_file);

  // Returns the answer's status code. DEADLINE_EXCEEDED when `timeout`
  // passes; UNAVAILABLE for resolve / connection / protocol / TLS errors;
  // FAILED_PRECONDITION when the server's certificate is not trusted (the
  // message says why: OpenSSL's verification error); INVALID_ARGUMENT for a
  // bad URL.
  absl::StatusOr<int> PostJson(const std::string& url, const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               absl::Duration timeout) const;

  // What the client trusts, for messages: "system CA bundle" or the file.
  const std::string& trust() const { return http_->trust(); }

 private:
  explicit WebhookClient(std::unique_ptr<HttpClient> http) : http_(std::move(http)) {}

  std::unique_ptr<HttpClient> http_;
};

}  // namespace mlops::monitoring
