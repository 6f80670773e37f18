#include "services/monitoring/webhook_client.h"

#include <chrono>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio.hpp"

namespace mlops::monitoring {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// The state of one POST, kept alive by the handlers that use it.
struct Exchange {
  explicit Exchange(asio::io_context& io) : resolver(io), socket(io) {}
  tcp::resolver resolver;
  tcp::socket socket;
  std::string request;
  asio::streambuf response;
  boost::system::error_code error;
  bool done = false;
};

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(const std::string& url) {
  const std::string http = "http://";
  if (url.rfind("https://", 0) == 0) {
    return absl::UnimplementedError("https webhooks are not supported yet (plain http only)");
  }
  if (url.rfind(http, 0) != 0) return absl::InvalidArgumentError("url: not http://");
  std::string rest = url.substr(http.size());
  HttpUrl out;
  const size_t slash = rest.find('/');
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string authority = rest.substr(0, slash);
  const size_t colon = authority.rfind(':');
  out.host = authority.substr(0, colon);
  out.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  int port = 0;
  if (out.host.empty() || !absl::SimpleAtoi(out.port, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("url: bad host or port in \"", url, "\""));
  }
  return out;
}

absl::StatusOr<int> PostJson(const std::string& url, const std::string& body,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             absl::Duration timeout) {
  absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return parsed.status();
  asio::io_context io;
  auto ex = std::make_shared<Exchange>(io);
  ex->request = absl::StrCat("POST ", parsed->target, " HTTP/1.1\r\nHost: ", parsed->host,
                             "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                             "\r\nConnection: close\r\n");
  for (const auto& [k, v] : headers) absl::StrAppend(&ex->request, k, ": ", v, "\r\n");
  absl::StrAppend(&ex->request, "\r\n", body);

  auto finish = [ex](const boost::system::error_code& ec) {
    ex->error = ec;
    ex->done = true;
  };
  ex->resolver.async_resolve(
      parsed->host, parsed->port,
      [ex, finish](const boost::system::error_code& ec, tcp::resolver::results_type endpoints) {
        if (ec) return finish(ec);
        asio::async_connect(
            ex->socket, endpoints,
            [ex, finish](const boost::system::error_code& ec2, const tcp::endpoint&) {
              if (ec2) return finish(ec2);
              asio::async_write(
                  ex->socket, asio::buffer(ex->request),
                  [ex, finish](const boost::system::error_code& ec3, size_t) {
                    if (ec3) return finish(ec3);
                    asio::async_read_until(
                        ex->socket, ex->response, "\r\n",
                        [finish](const boost::system::error_code& ec4, size_t) { finish(ec4); });
                  });
            });
      });
  io.run_for(std::chrono::microseconds(absl::ToInt64Microseconds(timeout)));
  if (!ex->done) {
    boost::system::error_code ignored;
    ex->socket.close(ignored);
    return absl::DeadlineExceededError(
        absl::StrCat("webhook timed out after ", absl::FormatDuration(timeout)));
  }
  if (ex->error) return absl::UnavailableError(absl::StrCat("webhook: ", ex->error.message()));
  std::istream in(&ex->response);
  std::string version;
  int code = 0;
  in >> version >> code;
  if (version.rfind("HTTP/", 0) != 0 || code < 100 || code > 599) {
    return absl::UnavailableError("webhook: malformed HTTP status line");
  }
  return code;
}

}  // namespace mlops::monitoring
