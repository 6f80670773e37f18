#include "common/auth/tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/config/file_util.h"

namespace mlops {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Reads a PEM file; errors name `what` and the path.
absl::StatusOr<std::string> ReadPem(const std::string& path, const std::string& what) {
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", pem.status().message()));
  }
  return pem;
}

// Checks that `cert_pem` holds a certificate, `key_pem` a private key, and
// that they belong together.
absl::Status CheckKeyPair(const std::string& cert_pem, const std::string& key_pem,
                          const std::string& cert_path, const std::string& key_path) {
  BioPtr cert_bio = MemBio(cert_pem);
  X509* cert = cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS certificate ", cert_path, " holds no PEM certificate"));
  }
  BioPtr key_bio = MemBio(key_pem);
  EVP_PKEY* key =
      key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (key == nullptr) {
    X509_free(cert);
    return absl::InvalidArgumentError(
        absl::StrCat("TLS key ", key_path, " holds no unencrypted PEM private key"));
  }
  const bool match = X509_check_private_key(cert, key) == 1;
  EVP_PKEY_free(key);
  X509_free(cert);
  if (!match) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS key ", key_path, " does not match certificate ", cert_path));
  }
  return absl::OkStatus();
}

// Reads a CA bundle and checks it holds at least one certificate.
absl::StatusOr<std::string> ReadCaBundle(const std::string& path, const std::string& what) {
  absl::StatusOr<std::string> pem = ReadPem(path, what);
  if (!pem.ok()) return pem.status();
  BioPtr bio = MemBio(*pem);
  X509* cert = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " holds no PEM certificate"));
  }
  X509_free(cert);
  return pem;
}

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

// Reads and checks a certificate + key pair; `what` is "server" or "client".
absl::StatusOr<KeyPair> ReadKeyPair(const std::string& cert_file, const std::string& key_file,
                                    const char* what) {
  absl::StatusOr<std::string> cert =
      ReadPem(cert_file, absl::StrCat("TLS ", what, " certificate"));
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(key_file, absl::StrCat("TLS ", what, " key"));
  if (!key.ok()) return key.status();
  const absl::Status pair = CheckKeyPair(*cert, *key, cert_file, key_file);
  if (!pair.ok()) return pair;
  return KeyPair{*std::move(cert), *std::move(key)};
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options) {
  if (options.cert_file.empty() && options.key_file.empty()) {
    if (!options.client_ca_file.empty()) {
      return absl::InvalidArgumentError("mTLS (a client CA) needs a server certificate and key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (options.cert_file.empty() || options.key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate and a key file");
  }
  absl::StatusOr<KeyPair> pair = ReadKeyPair(options.cert_file, options.key_file, "server");
  if (!pair.ok()) return pair.status();

  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!options.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadCaBundle(options.client_ca_file, "TLS client CA");
    if (!ca.ok()) return ca.status();
    ssl = grpc::SslServerCredentialsOptions(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = *std::move(ca);
  }
  ssl.pem_key_cert_pairs.push_back({std::move(pair->key_pem), std::move(pair->cert_pem)});
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientTlsOptions& options) {
  if (options.ca_file.empty() && options.cert_file.empty() && options.key_file.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("a client certificate needs both a certificate and a key");
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadCaBundle(options.ca_file, "TLS CA");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!options.cert_file.empty()) {
    absl::StatusOr<KeyPair> pair = ReadKeyPair(options.cert_file, options.key_file, "client");
    if (!pair.ok()) return pair.status();
    ssl.pem_cert_chain = std::move(pair->cert_pem);
    ssl.pem_private_key = std::move(pair->key_pem);
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace mlops
