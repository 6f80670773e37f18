#include "common/http/http_url.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mlops {

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
  const std::string authority = rest.substr(0, slash);
  std::string port_part;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("url: unclosed [ in \"", url, "\""));
    }
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return absl::InvalidArgumentError(absl::StrCat("url: bad host or port in \"", url, "\""));
      }
      port_part = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_part = authority.substr(colon + 1);
  }
  out.port = port_part.empty() ? (out.tls ? "443" : "80") : port_part;
  int port = 0;
  if (out.host.empty() || !absl::SimpleAtoi(out.port, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("url: bad host or port in \"", url, "\""));
  }
  return out;
}

}  // namespace mlops
