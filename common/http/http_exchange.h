#pragma once

// HttpExchange: one asynchronous HTTP/1.1 request over a Beast stream (plain
// beast::tcp_stream or beast::ssl_stream over it): resolve, connect, TLS
// handshake (ssl only), write the request, read the whole answer (its body up
// to a limit). A single timer bounds the whole exchange: when it fires it
// cancels the resolver and the socket, so io_context::run() always returns.
// Internal to http_client.cc. Not thread-safe: one exchange per io_context,
// driven by one thread.

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace mlops::http_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

template <typename Stream>
inline constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

struct Answer {
  int status = 0;
  std::string body;
};

// Why a handshake failed: OpenSSL's verification error when the chain or the
// name was refused (FAILED_PRECONDITION), the TLS error otherwise.
absl::Status HandshakeError(SSL* ssl, const beast::error_code& ec, const std::string& trust);

template <typename Stream>
class HttpExchange : public std::enable_shared_from_this<HttpExchange<Stream>> {
 public:
  template <typename... StreamArgs>
  explicit HttpExchange(asio::io_context& io, std::string trust, StreamArgs&&... args)
      : resolver_(io), timer_(io), stream_(std::forward<StreamArgs>(args)...),
        trust_(std::move(trust)) {}

  Stream& stream() { return stream_; }

  // Starts the exchange; run the io_context afterwards, then read result().
  void Start(std::string host, std::string port, http::request<http::string_body> request,
             asio::steady_timer::duration timeout, std::uint64_t max_body_bytes) {
    request_ = std::move(request);
    parser_.body_limit(max_body_bytes);
    auto self = this->shared_from_this();
    timer_.expires_after(timeout);
    timer_.async_wait([self](const beast::error_code& ec) {
      if (ec) return;  // cancelled: the exchange finished first
      self->timed_out_ = true;
      self->resolver_.cancel();
      beast::get_lowest_layer(self->stream_).cancel();
    });
    resolver_.async_resolve(host, port,
                            [self](const beast::error_code& ec, tcp::resolver::results_type r) {
                              if (ec) return self->Finish(ec, "resolving the host");
                              self->Connect(r);
                            });
  }

  // The answer, or why there is none.
  absl::StatusOr<Answer>& result() { return result_; }

 private:
  void Connect(const tcp::resolver::results_type& endpoints) {
    auto self = this->shared_from_this();
    beast::get_lowest_layer(stream_).async_connect(
        endpoints, [self](const beast::error_code& ec, const tcp::endpoint&) {
          if (ec) return self->Finish(ec, "connecting");
          self->Handshake();
        });
  }

  void Handshake() {
    if constexpr (kIsTls<Stream>) {
      auto self = this->shared_from_this();
      stream_.async_handshake(asio::ssl::stream_base::client, [self](const beast::error_code& ec) {
        if (ec && !self->timed_out_) {
          self->Fail(HandshakeError(self->stream_.native_handle(), ec, self->trust_));
          return;
        }
        if (ec) return self->Finish(ec, "TLS handshake");
        self->Write();
      });
    } else {
      Write();
    }
  }

  void Write() {
    auto self = this->shared_from_this();
    http::async_write(stream_, request_, [self](const beast::error_code& ec, std::size_t) {
      if (ec) return self->Finish(ec, "writing the request");
      self->Read();
    });
  }

  void Read() {
    auto self = this->shared_from_this();
    http::async_read(stream_, buffer_, parser_, [self](const beast::error_code& ec, std::size_t) {
      if (ec) return self->Finish(ec, "reading the answer");
      Answer answer;
      answer.status = static_cast<int>(self->parser_.get().result_int());
      answer.body = std::move(self->parser_.get().body());
      self->result_ = std::move(answer);
      self->Close();
    });
  }

  void Finish(const beast::error_code& ec, const char* step) {
    if (timed_out_) {
      Fail(absl::DeadlineExceededError(absl::StrCat("timed out while ", step)));
    } else {
      Fail(absl::UnavailableError(absl::StrCat(step, ": ", ec.message())));
    }
  }

  void Fail(absl::Status status) {
    result_ = std::move(status);
    Close();
  }

  void Close() {
    timer_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  tcp::resolver resolver_;
  asio::steady_timer timer_;
  Stream stream_;
  const std::string trust_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  bool timed_out_ = false;
  absl::StatusOr<Answer> result_ = absl::InternalError("http exchange did not run");
};

}  // namespace mlops::http_internal
