#include "common/auth/testing/test_pki.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "common/config/file_util.h"

namespace mlops::testing {
namespace {

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using CertPtr = std::unique_ptr<X509, CertDeleter>;

KeyPtr NewKey() { return KeyPtr(EVP_EC_gen("P-256")); }

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `cn`, signed by issuer_key (self-signed when
// issuer is null).
CertPtr NewCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool is_ca,
                long serial) {
  CertPtr cert(X509_new());
  if (!cert) return nullptr;
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok;
  if (is_ca) {
    ok = AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE") &&
         AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         AddExtension(cert.get(), signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") &&
         AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  if (!ok) return nullptr;
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return nullptr;
  }
  return cert;
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

}  // namespace

absl::StatusOr<TestPki> MakeTestPki(const std::string& dir) {
  KeyPtr ca_key = NewKey(), server_key = NewKey(), client_key = NewKey(), other_key = NewKey();
  if (!ca_key || !server_key || !client_key || !other_key) {
    return absl::InternalError("EC key generation failed");
  }
  CertPtr ca = NewCert(ca_key.get(), "mlops test CA", nullptr, nullptr, true, 1);
  CertPtr other_ca = NewCert(other_key.get(), "other CA", nullptr, nullptr, true, 2);
  if (!ca || !other_ca) return absl::InternalError("CA certificate creation failed");
  CertPtr server = NewCert(server_key.get(), "localhost", ca.get(), ca_key.get(), false, 3);
  CertPtr client = NewCert(client_key.get(), "mlops-client", ca.get(), ca_key.get(), false, 4);
  if (!server || !client) return absl::InternalError("leaf certificate creation failed");

  TestPki pki;
  pki.ca_cert_file = dir + "/ca.pem";
  pki.server_cert_file = dir + "/server.pem";
  pki.server_key_file = dir + "/server.key";
  pki.client_cert_file = dir + "/client.pem";
  pki.client_key_file = dir + "/client.key";
  pki.other_ca_cert_file = dir + "/other_ca.pem";
  pki.other_key_file = dir + "/other.key";
  const std::pair<const std::string*, std::string> files[] = {
      {&pki.ca_cert_file, CertPem(ca.get())},
      {&pki.server_cert_file, CertPem(server.get())},
      {&pki.server_key_file, KeyPem(server_key.get())},
      {&pki.client_cert_file, CertPem(client.get())},
      {&pki.client_key_file, KeyPem(client_key.get())},
      {&pki.other_ca_cert_file, CertPem(other_ca.get())},
      {&pki.other_key_file, KeyPem(other_key.get())},
  };
  for (const auto& [path, pem] : files) {
    const absl::Status s = WriteFileAtomically(*path, pem);
    if (!s.ok()) return s;
  }
  return pki;
}

}  // namespace mlops::testing
