#include "services/monitoring/tls_test_server.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <utility>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/strings/str_cat.h"

namespace mlops::monitoring {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "SelfSignedCert: %s failed\n", what);
  std::abort();
}

void AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

template <typename Write>
std::string Pem(Write write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  Check(write(bio.get()) == 1, "PEM_write");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int): OpenSSL's type
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

SelfSignedCert::SelfSignedCert(const std::string& subject_alt_names) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  Check(key != nullptr, "EVP_EC_gen");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509* x = cert.get();
  static std::atomic<long> serial{1};  // NOLINT(runtime/int): ASN1_INTEGER_set's type
  Check(X509_set_version(x, 2) == 1 && ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) == 1,
        "X509 serial");
  Check(X509_gmtime_adj(X509_getm_notBefore(x), -60) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(x), 3600) != nullptr,
        "X509 validity");
  X509_NAME* name = X509_get_subject_name(x);
  Check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("mlops webhook test"), -1,
                                   -1, 0) == 1 &&
            X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key.get()) == 1,
        "X509 name and key");
  AddExtension(x, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(x, NID_subject_alt_name, subject_alt_names.c_str());
  Check(X509_sign(x, key.get(), EVP_sha256()) > 0, "X509_sign");
  cert_pem_ = Pem([x](BIO* b) { return PEM_write_bio_X509(b, x); });
  key_pem_ = Pem([&key](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  const char* dir = std::getenv("TEST_TMPDIR");
  cert_file_ = absl::StrCat(dir != nullptr ? dir : "/tmp", "/mlops-webhook-ca-", getpid(), "-",
                            reinterpret_cast<uintptr_t>(this), ".pem");
  std::ofstream(cert_file_) << cert_pem_;
}

SelfSignedCert::~SelfSignedCert() { std::remove(cert_file_.c_str()); }

TlsTestServer::TlsTestServer(const SelfSignedCert& cert, bool handshake)
    : handshake_(handshake),
      ssl_(asio::ssl::context::tls_server),
      acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  ssl_.use_certificate(asio::buffer(cert.cert_pem()), asio::ssl::context::pem);
  ssl_.use_private_key(asio::buffer(cert.key_pem()), asio::ssl::context::pem);
  thread_ = std::thread([this] { Serve(); });
}

TlsTestServer::~TlsTestServer() {
  stop_ = true;
  // Wake the blocking accept with one last connection.
  beast::error_code ec;
  tcp::socket s(io_);
  s.connect(acceptor_.local_endpoint(), ec);
  thread_.join();
}

int TlsTestServer::port() const { return acceptor_.local_endpoint().port(); }

std::vector<std::string> TlsTestServer::bodies() {
  absl::MutexLock lock(&mu_);
  return bodies_;
}

std::vector<std::string> TlsTestServer::server_names() {
  absl::MutexLock lock(&mu_);
  return server_names_;
}

void TlsTestServer::Serve() {
  std::vector<tcp::socket> hung;  // accepted and never answered
  for (int i = 0; i < 100 && !stop_; ++i) {
    tcp::socket socket(io_);
    beast::error_code ec;
    acceptor_.accept(socket, ec);
    if (ec || stop_) return;
    if (!handshake_) {
      hung.push_back(std::move(socket));
      continue;
    }
    beast::ssl_stream<tcp::socket> stream(std::move(socket), ssl_);
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (ec) continue;  // the client refused our certificate
    const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(stream, buffer, req, ec);
    if (ec) continue;
    {
      absl::MutexLock lock(&mu_);
      server_names_.push_back(sni != nullptr ? sni : "");
      bodies_.push_back(req.body());
    }
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::connection, "close");
    res.prepare_payload();
    http::write(stream, res, ec);
    stream.shutdown(ec);
  }
}

}  // namespace mlops::monitoring
