#pragma once

// An http:// or https:// URL split into what a client connects to and what
// it asks for. Plain values, no state.

#include <string>

#include "absl/status/statusor.h"

namespace mlops {

struct HttpUrl {
  bool tls = false;    // https://
  std::string host;    // a name or an address (IPv6 without its brackets)
  std::string port;    // "80" / "443" by default
  std::string target;  // path and query, "/" by default
};

// INVALID_ARGUMENT (naming the URL) for a scheme other than http / https, an
// empty host or a port outside 1..65535. "[::1]:8443" style IPv6 authorities
// are accepted.
absl::StatusOr<HttpUrl> ParseHttpUrl(const std::string& url);

}  // namespace mlops
