#pragma once
// Where the TLS material lives (paths to PEM files). Plain structs; the
// credentials are built by common/auth/tls.h.

#include <string>

namespace mlops {

// Server side. All empty = plaintext. cert_file + key_file = TLS.
// client_ca_file set as well = mTLS: clients must present a certificate
// signed by this CA.
struct TlsOptions {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
};

// Client side (calls to peers). All empty = plaintext. ca_file verifies the
// server (empty with TLS = the system roots); cert_file + key_file are this
// client's certificate for mTLS. TLS is used when any of the three is set.
struct ClientTlsOptions {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

}  // namespace mlops
