#pragma once

// A minimal HTTP/1.1 client for alert webhooks: one POST of a JSON body per
// call over a fresh connection (Connection: close), with a deadline covering
// resolve, connect, write and reading the status line. Boost.Asio; plain
// http:// only (https:// answers UNIMPLEMENTED). Thread-safe (no shared
// state: each call has its own io_context).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mlops::monitoring {

struct HttpUrl {
  std::string host;
  std::string port;  // "80" by default
  std::string target;  // path and query, "/" by default
};

// INVALID_ARGUMENT for a malformed URL; UNIMPLEMENTED for https://.
absl::StatusOr<HttpUrl> ParseHttpUrl(const std::string& url);

// Returns the response's status code. DEADLINE_EXCEEDED when `timeout`
// passes; UNAVAILABLE for resolve / connection / protocol errors.
absl::StatusOr<int> PostJson(const std::string& url, const std::string& body,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             absl::Duration timeout);

}  // namespace mlops::monitoring
