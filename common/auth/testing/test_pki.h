#pragma once
// Test-only: a throwaway PKI written to PEM files: a CA, a server certificate
// for "localhost" / 127.0.0.1 and a client certificate, both signed by the CA,
// and a second, unrelated CA. EC P-256 keys, valid for one day.

#include <string>

#include "absl/status/statusor.h"

namespace mlops::testing {

struct TestPki {
  std::string ca_cert_file;
  std::string server_cert_file;
  std::string server_key_file;
  std::string client_cert_file;
  std::string client_key_file;
  std::string other_ca_cert_file;  // signed nothing here
  std::string other_key_file;      // a key matching none of the certificates
};

// Writes the files into `dir` (which must exist).
absl::StatusOr<TestPki> MakeTestPki(const std::string& dir);

}  // namespace mlops::testing
