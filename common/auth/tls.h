#pragma once
// gRPC credentials from TLS options (paths to PEM files). Files are read and
// checked once, here: a certificate that does not parse or a key that does
// not match its certificate is a clear error at start-up rather than a
// failed handshake later. Stateless, thread-safe.

#include <memory>

#include "absl/status/statusor.h"
#include "common/config/tls_options.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace mlops {

// Plaintext when no certificate is set; TLS with cert + key; mTLS
// (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY) when a client
// CA is set too. InvalidArgument for half a pair, unreadable or unparsable
// PEM, or a key that does not match the certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsOptions& options);

// Plaintext when all of ca_file, cert_file and key_file are empty; otherwise
// TLS verifying the server against ca_file (or the system roots when empty),
// presenting cert_file + key_file as client certificate when set.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientTlsOptions& options);

}  // namespace mlops
