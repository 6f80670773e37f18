#pragma once

// Test support for https webhooks: a self-signed certificate made with the
// OpenSSL API, and a TLS HTTP server on 127.0.0.1 that answers 200 and records
// what it received (bodies, SNI names). Test-only.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "absl/synchronization/mutex.h"

namespace mlops::monitoring {

// A self-signed certificate (EC P-256, valid for an hour, CA:TRUE) naming
// `subject_alt_names` (OpenSSL's syntax), its key, both PEM; and the certificate
// written to a file under $TEST_TMPDIR or /tmp (removed by the destructor).
class SelfSignedCert {
 public:
  explicit SelfSignedCert(const std::string& subject_alt_names = "IP:127.0.0.1,DNS:localhost");
  // Aborts the test binary if OpenSSL fails.
  ~SelfSignedCert();
  SelfSignedCert(const SelfSignedCert&) = delete;
  SelfSignedCert& operator=(const SelfSignedCert&) = delete;

  const std::string& cert_pem() const { return cert_pem_; }
  const std::string& key_pem() const { return key_pem_; }
  const std::string& cert_file() const { return cert_file_; }

 private:
  std::string cert_pem_;
  std::string key_pem_;
  std::string cert_file_;
};

// Serves https on 127.0.0.1 with `cert`, on one thread, one connection at a
// time: a completed handshake and request get "HTTP/1.1 200"; a refused
// handshake is skipped. With `handshake` false it accepts connections and
// never answers them (the client must time out). Thread-safe accessors.
class TlsTestServer {
 public:
  explicit TlsTestServer(const SelfSignedCert& cert, bool handshake = true);
  ~TlsTestServer();

  int port() const;
  std::vector<std::string> bodies();
  std::vector<std::string> server_names();  // SNI of each handshake ("" = none)

 private:
  void Serve();

  const bool handshake_;
  boost::asio::io_context io_;
  boost::asio::ssl::context ssl_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> server_names_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace mlops::monitoring
