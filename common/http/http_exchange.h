#pragma once

// HttpExchange: one asynchronous HTTP/1.1 request over a Beast stream (plain
// beast::tcp_stream or beast::ssl_stream over it): resolve, connect, TLS
// handshake (ssl only), write the request, read the whole answer (its body up
// to a limit). A single timer bounds the whole exchange: when it fires it
// cancels the resolver and the socket, so io_context::run() always returns.
// In streaming mode (SetStreaming, before Start) the timer bounds only the
// exchange up to the answer's header; the body is then handed to a callback
// piece by piece as it arrives, and the driver (HttpClient::SendStreaming)
// ends a silent or unwanted stream with Abort(). Internal to http_client.cc.
// Not thread-safe: one exchange per io_context, driven by one thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
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

  // Streaming mode: a 2xx answer's body goes to `on_body` as it arrives
  // (result().body stays empty); another answer's body is kept whole.
  void SetStreaming(std::function<void(std::string_view)> on_body) { on_body_ = std::move(on_body); }

  // Ends the exchange now with `status` (unless it already ended); its
  // pending operations then complete as cancelled.
  void Abort(absl::Status status) {
    if (ended_) return;
    aborted_ = true;
    resolver_.cancel();
    Fail(std::move(status));
  }

  bool ended() const { return ended_; }
  bool header_read() const { return header_read_; }
  // When a piece of the body (or the header) last arrived.
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }

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
    if (on_body_) return ReadHeader();
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

  void ReadHeader() {
    auto self = this->shared_from_this();
    stream_parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read_header(stream_, buffer_, stream_parser_, [self](const beast::error_code& ec, std::size_t) {
      if (ec) return self->Finish(ec, "reading the answer's header");
      self->timer_.cancel();  // the header came in time; the body may last
      self->header_read_ = true;
      self->last_activity_ = std::chrono::steady_clock::now();
      self->streamed_.status = static_cast<int>(self->stream_parser_.get().result_int());
      self->ReadPiece();
    });
  }

  void ReadPiece() {
    if (ended_) return;
    if (stream_parser_.is_done()) {
      result_ = std::move(streamed_);
      return Close();
    }
    stream_parser_.get().body().data = piece_;
    stream_parser_.get().body().size = sizeof(piece_);
    auto self = this->shared_from_this();
    http::async_read_some(stream_, buffer_, stream_parser_, [self](beast::error_code ec, std::size_t) {
      if (self->ended_) return;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return self->Finish(ec, "reading the answer");
      const std::size_t n = sizeof(self->piece_) - self->stream_parser_.get().body().size;
      if (n > 0) {
        self->last_activity_ = std::chrono::steady_clock::now();
        if (self->streamed_.status / 100 == 2) {
          self->on_body_(std::string_view(self->piece_, n));
        } else if (self->streamed_.body.size() < (std::size_t{1} << 20)) {
          self->streamed_.body.append(self->piece_, n);
        }
      }
      self->ReadPiece();
    });
  }

  void Finish(const beast::error_code& ec, const char* step) {
    if (aborted_) return Close();  // Abort() set the result
    if (timed_out_) {
      Fail(absl::DeadlineExceededError(absl::StrCat("timed out while ", step)));
    } else {
      Fail(absl::UnavailableError(absl::StrCat(step, ": ", ec.message())));
    }
  }

  void Fail(absl::Status status) {
    if (!ended_) result_ = std::move(status);  // after Abort() the first word stays
    Close();
  }

  void Close() {
    ended_ = true;
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
  bool aborted_ = false;
  bool ended_ = false;
  // Streaming mode only.
  std::function<void(std::string_view)> on_body_;
  http::response_parser<http::buffer_body> stream_parser_;
  Answer streamed_;
  bool header_read_ = false;
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
  char piece_[16384];
  absl::StatusOr<Answer> result_ = absl::InternalError("http exchange did not run");
};

}  // namespace mlops::http_internal
