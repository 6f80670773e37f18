#pragma once
// The base flags every service binary shares, defined once in
// server_flags.cc. Link target mlops_server_flags into binaries only (and
// tests of it): libraries take a ServerConfig, never flags (STYLE §4).
//
// Each flag --foo also reads the environment variable MLOPS_FOO when main
// parses with ParseFlagsWithEnv (common/config/env_flags.h):
//   --grpc_host (0.0.0.0)          --grpc_port (service default; 0 = any free port)
//   --metrics_port (service default; 0 = any free port)
//   --grpc_max_threads (32)        --grpc_max_message_bytes (64 MiB)
//   --grpc_busy_poll_us (0 = off)
//   --shutdown_grace_seconds (20)
//   --database_url (MLOPS_DATABASE_URL; libpq DSN or postgresql:// URI)
//   --pg_pool_size (8)             --pg_statement_timeout_ms (30000; 0 = none)
//   --auth_tokens_file             --auth_disabled (local experiments only)
//   --tls_cert_file --tls_key_file --tls_client_ca_file (mTLS when set)
//   --ports_file                   --log_level (info)
//   --ingestion_addr --features_addr --training_addr --registry_addr
//   --gateway_addr --monitoring_addr            (MLOPS_<SERVICE>_ADDR)
//   --peer_token / --peer_token_file (MLOPS_PEER_TOKEN / MLOPS_PEER_TOKEN_FILE)
//   --peer_deadline_ms (5000)      --peer_ca_file (TLS to peers when set)
//
// Typical main():
//   mlops::ParseFlagsWithEnv(argc, argv);
//   absl::StatusOr<mlops::ServerConfig> config =
//       mlops::ReadServerConfig({.service_name = "registry", .grpc_port = 50054,
//                                .metrics_port = 9094});
//   if (!config.ok()) { fprintf(stderr, "%s\n", ...); return 2; }
//   mlops::ApplyLogConfig(*config);

#include "absl/status/statusor.h"
#include "common/config/server_config.h"

namespace mlops {

// Copies the flags into a ServerConfig and finalizes it
// (FinalizeServerConfig: service defaults, validation, peer token file).
// Call after ParseFlagsWithEnv.
absl::StatusOr<ServerConfig> ReadServerConfig(const ServerDefaults& defaults);

// The flags' values as they are, before defaults and validation.
ServerConfig ServerConfigFromFlags();

}  // namespace mlops
