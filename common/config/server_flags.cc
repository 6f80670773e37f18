#include "common/config/server_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, grpc_host, "0.0.0.0", "Address the gRPC server binds (env MLOPS_GRPC_HOST).");
ABSL_FLAG(int, grpc_port, mlops::kServiceDefaultPort,
          "gRPC port; -1 = the service's default, 0 = any free port (env MLOPS_GRPC_PORT).");
ABSL_FLAG(int, metrics_port, mlops::kServiceDefaultPort,
          "Prometheus /metrics port; -1 = the service's default, 0 = any free port "
          "(env MLOPS_METRICS_PORT).");
ABSL_FLAG(int, grpc_max_threads, 32,
          "Most threads the gRPC server uses for handlers (env MLOPS_GRPC_MAX_THREADS).");
ABSL_FLAG(int, grpc_busy_poll_us, 0,
          "After each event on a hot path's completion queue (gateway Predict, online "
          "features), poll this many microseconds before sleeping: lower latency for CPU; "
          "0 = off (env MLOPS_GRPC_BUSY_POLL_US).");
ABSL_FLAG(int, grpc_max_message_bytes, 64 << 20,
          "Largest gRPC message sent or received (env MLOPS_GRPC_MAX_MESSAGE_BYTES).");
ABSL_FLAG(int, shutdown_grace_seconds, 20,
          "On SIGTERM, how long in-flight RPCs may finish (env MLOPS_SHUTDOWN_GRACE_SECONDS).");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL connection: libpq DSN or postgresql:// URI (env MLOPS_DATABASE_URL).");
ABSL_FLAG(int, pg_pool_size, 8, "PostgreSQL connections in the pool, 1..256 (env MLOPS_PG_POOL_SIZE).");
ABSL_FLAG(int, pg_statement_timeout_ms, 30000,
          "statement_timeout of every connection, 0 = none (env MLOPS_PG_STATEMENT_TIMEOUT_MS).");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "Token file: '<sha256 hex> <principal> <role> [expires=RFC3339]' lines "
          "(env MLOPS_AUTH_TOKENS_FILE).");
ABSL_FLAG(bool, auth_disabled, false,
          "Accept every call as admin 'anonymous'. Local experiments only "
          "(env MLOPS_AUTH_DISABLED).");
ABSL_FLAG(std::string, tls_cert_file, "", "Server certificate PEM; enables TLS (env MLOPS_TLS_CERT_FILE).");
ABSL_FLAG(std::string, tls_key_file, "", "Server private key PEM (env MLOPS_TLS_KEY_FILE).");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "CA PEM that client certificates must chain to; enables mTLS "
          "(env MLOPS_TLS_CLIENT_CA_FILE).");
ABSL_FLAG(std::string, ports_file, "",
          "Once listening, write {\"grpc_port\":N,\"metrics_port\":M} here (env MLOPS_PORTS_FILE).");
ABSL_FLAG(std::string, log_level, "info", "debug | info | warn | error (env MLOPS_LOG_LEVEL).");
ABSL_FLAG(std::string, ingestion_addr, "", "Ingestion service host:port (env MLOPS_INGESTION_ADDR).");
ABSL_FLAG(std::string, features_addr, "", "Features service host:port (env MLOPS_FEATURES_ADDR).");
ABSL_FLAG(std::string, training_addr, "", "Training service host:port (env MLOPS_TRAINING_ADDR).");
ABSL_FLAG(std::string, registry_addr, "", "Registry service host:port (env MLOPS_REGISTRY_ADDR).");
ABSL_FLAG(std::string, gateway_addr, "", "Inference gateway host:port (env MLOPS_GATEWAY_ADDR).");
ABSL_FLAG(std::string, monitoring_addr, "",
          "Monitoring service host:port (env MLOPS_MONITORING_ADDR).");
ABSL_FLAG(std::string, peer_token, "",
          "Bearer token this service presents to peers (env MLOPS_PEER_TOKEN).");
ABSL_FLAG(std::string, peer_token_file, "",
          "File whose first line is the peer token (env MLOPS_PEER_TOKEN_FILE).");
ABSL_FLAG(int, peer_deadline_ms, 5000, "Default deadline of calls to peers (env MLOPS_PEER_DEADLINE_MS).");
ABSL_FLAG(std::string, peer_ca_file, "",
          "CA PEM that verifies peers; enables TLS to peers, presenting --tls_cert_file/"
          "--tls_key_file as client certificate when set (env MLOPS_PEER_CA_FILE).");

namespace mlops {

ServerConfig ServerConfigFromFlags() {
  ServerConfig c;
  c.grpc_host = absl::GetFlag(FLAGS_grpc_host);
  c.grpc_port = absl::GetFlag(FLAGS_grpc_port);
  c.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  c.grpc_max_threads = absl::GetFlag(FLAGS_grpc_max_threads);
  c.grpc_busy_poll_us = absl::GetFlag(FLAGS_grpc_busy_poll_us);
  c.grpc_max_message_bytes = absl::GetFlag(FLAGS_grpc_max_message_bytes);
  c.shutdown_grace_seconds = absl::GetFlag(FLAGS_shutdown_grace_seconds);
  c.database_url = absl::GetFlag(FLAGS_database_url);
  c.pg_pool_size = absl::GetFlag(FLAGS_pg_pool_size);
  c.pg_statement_timeout_ms = absl::GetFlag(FLAGS_pg_statement_timeout_ms);
  c.auth_tokens_file = absl::GetFlag(FLAGS_auth_tokens_file);
  c.auth_disabled = absl::GetFlag(FLAGS_auth_disabled);
  c.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  c.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  c.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  c.ports_file = absl::GetFlag(FLAGS_ports_file);
  c.log_level = absl::GetFlag(FLAGS_log_level);
  c.peers.address(PeerService::kIngestion) = absl::GetFlag(FLAGS_ingestion_addr);
  c.peers.address(PeerService::kFeatures) = absl::GetFlag(FLAGS_features_addr);
  c.peers.address(PeerService::kTraining) = absl::GetFlag(FLAGS_training_addr);
  c.peers.address(PeerService::kRegistry) = absl::GetFlag(FLAGS_registry_addr);
  c.peers.address(PeerService::kGateway) = absl::GetFlag(FLAGS_gateway_addr);
  c.peers.address(PeerService::kMonitoring) = absl::GetFlag(FLAGS_monitoring_addr);
  c.peers.token = absl::GetFlag(FLAGS_peer_token);
  c.peers.token_file = absl::GetFlag(FLAGS_peer_token_file);
  c.peers.deadline_ms = absl::GetFlag(FLAGS_peer_deadline_ms);
  c.peers.tls.ca_file = absl::GetFlag(FLAGS_peer_ca_file);
  return c;
}

absl::StatusOr<ServerConfig> ReadServerConfig(const ServerDefaults& defaults) {
  return FinalizeServerConfig(ServerConfigFromFlags(), defaults);
}

}  // namespace mlops
