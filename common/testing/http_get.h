#pragma once
// A tiny blocking HTTP/1.0 client for tests: scrape /metrics.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mlops {

struct HttpResponse {
  int status_code = 0;  // e.g. 200
  std::string body;
};

// GET http://host:port/path (HTTP/1.0, Connection: close; no chunked
// encoding, no redirects). Unavailable when the connection fails;
// DeadlineExceeded when a read or write stalls longer than `timeout`;
// Internal when the reply is not HTTP.
absl::StatusOr<HttpResponse> HttpGet(const std::string& host, int port,
                                     const std::string& path,
                                     absl::Duration timeout = absl::Seconds(5));

}  // namespace mlops
