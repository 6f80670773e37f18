#include "common/testing/http_get.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mlops {
namespace {

// Closes the socket when it goes out of scope.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

absl::StatusOr<HttpResponse> ParseResponse(const std::string& raw) {
  // "HTTP/1.x NNN reason\r\n" headers "\r\n\r\n" body
  if (raw.compare(0, 5, "HTTP/") != 0) {
    return absl::InternalError(absl::StrCat("not an HTTP response: ", raw.substr(0, 64)));
  }
  const size_t space = raw.find(' ');
  int code = 0;
  if (space == std::string::npos || space + 4 > raw.size() ||
      !absl::SimpleAtoi(absl::string_view(raw.data() + space + 1, 3), &code)) {
    return absl::InternalError(absl::StrCat("bad HTTP status line: ", raw.substr(0, 64)));
  }
  const size_t body = raw.find("\r\n\r\n");
  if (body == std::string::npos) return absl::InternalError("HTTP response without header end");
  return HttpResponse{code, raw.substr(body + 4)};
}

}  // namespace

absl::StatusOr<HttpResponse> HttpGet(const std::string& host, int port, const std::string& path,
                                     absl::Duration timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses); rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", host, ": ", gai_strerror(rc)));
  }
  const std::string target = absl::StrCat(host, ":", port);
  int last_errno = 0;
  int fd = -1;
  for (addrinfo* a = addresses; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    timeval tv{};
    tv.tv_sec = absl::ToInt64Seconds(timeout);
    tv.tv_usec = absl::ToInt64Microseconds(timeout) % 1000000;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      last_errno = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(addresses);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("connect ", target, ": ", std::strerror(last_errno)));
  }
  Socket socket_owner(fd);

  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", target,
                                           "\r\nConnection: close\r\n\r\n");
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const bool stalled = errno == EAGAIN || errno == EWOULDBLOCK;
      const std::string message = absl::StrCat("send to ", target, ": ", std::strerror(errno));
      return stalled ? absl::DeadlineExceededError(message) : absl::UnavailableError(message);
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[16384];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const bool stalled = errno == EAGAIN || errno == EWOULDBLOCK;
      const std::string message = absl::StrCat("recv from ", target, ": ", std::strerror(errno));
      return stalled ? absl::DeadlineExceededError(message) : absl::UnavailableError(message);
    }
    raw.append(buffer, static_cast<size_t>(n));
  }
  return ParseResponse(raw);
}

}  // namespace mlops
