#pragma once
// The settings every service binary shares, as a plain struct (no flags in
// here: common/config/server_flags.h fills it from flags and environment).
// Plain data; validation and the peer-token file are handled by
// FinalizeServerConfig. Pure functions, thread-safe.

#include <array>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config/tls_options.h"
#include "common/log/log.h"

namespace mlops {

// A port value meaning "the service's own default" (ServerDefaults).
inline constexpr int kServiceDefaultPort = -1;

// The six services, as peers of each other.
enum class PeerService { kIngestion = 0, kFeatures, kTraining, kRegistry, kGateway, kMonitoring };
inline constexpr size_t kNumPeerServices = 6;
inline constexpr std::array<PeerService, kNumPeerServices> kAllPeerServices = {
    PeerService::kIngestion, PeerService::kFeatures, PeerService::kTraining,
    PeerService::kRegistry,  PeerService::kGateway,  PeerService::kMonitoring};

// "ingestion", "features", ...
std::string_view PeerServiceName(PeerService service);
// "ingestion_addr", ...: the flag (and, upper-cased, the MLOPS_ env var).
std::string PeerAddressFlag(PeerService service);

// How this service calls the others.
struct PeerConfig {
  // host:port (or any gRPC target such as dns:///svc:50051); empty = not
  // configured. Index by PeerService.
  std::array<std::string, kNumPeerServices> addresses;
  // The bearer token this service presents to peers: --peer_token, or the
  // first line of --peer_token_file (FinalizeServerConfig reads it). Secret.
  std::string token;
  std::string token_file;
  int deadline_ms = 5000;
  // Empty = plaintext. Set from --peer_ca_file (+ --tls_cert_file/--tls_key_file
  // as the client certificate).
  ClientTlsOptions tls;

  const std::string& address(PeerService s) const { return addresses[static_cast<size_t>(s)]; }
  std::string& address(PeerService s) { return addresses[static_cast<size_t>(s)]; }
};

// What differs between the six binaries; given by each main().
struct ServerDefaults {
  std::string service_name;     // "registry"; used in logs
  int grpc_port = 0;            // used when --grpc_port is not set (0 = any free port)
  int metrics_port = 0;         // used when --metrics_port is not set
  bool database_required = true;
};

// Defaults below are the flags' defaults (see server_flags.cc).
struct ServerConfig {
  std::string service_name;
  std::string grpc_host = "0.0.0.0";
  int grpc_port = kServiceDefaultPort;     // 0 = any free port
  int metrics_port = kServiceDefaultPort;  // 0 = any free port
  int grpc_max_threads = 32;
  // Busy polling of the completion queues of queue-driven services (the
  // gateway's Predict, the feature service's online methods); 0 = off.
  int grpc_busy_poll_us = 0;
  int grpc_max_message_bytes = 64 << 20;
  int shutdown_grace_seconds = 20;

  std::string database_url;  // libpq DSN or postgresql:// URI. Secret: log RedactDsn().
  int pg_pool_size = 8;
  int pg_statement_timeout_ms = 30000;  // 0 = no timeout

  std::string auth_tokens_file;
  bool auth_disabled = false;
  TlsOptions tls;

  std::string ports_file;  // if set, {"grpc_port":N,"metrics_port":M} is written there
  std::string log_level = "info";  // debug | info | warn | error

  PeerConfig peers;
};

// "debug" | "info" | "warn" | "error" (case-insensitive).
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);

// OK for "host:port" (port 1..65535; host may be [v6]), or a target with a
// scheme ("dns:///svc:50051", "unix:/path", "ipv4:..."), left to gRPC.
absl::Status CheckPeerAddress(std::string_view address);

// Checks every field; returns InvalidArgument listing every problem, each
// naming the flag and its environment variable, e.g.
//   --grpc_port (env MLOPS_GRPC_PORT): 70000 is out of range 0..65535
// Checks that files it needs exist and can be read (TLS PEM files, the token
// file unless auth is disabled, the peer token file).
absl::Status ValidateServerConfig(const ServerConfig& config, const ServerDefaults& defaults);

// Fills the service defaults (service_name, ports given as kServiceDefaultPort),
// validates, reads the peer token file into peers.token, and derives
// peers.tls. The config that main uses.
absl::StatusOr<ServerConfig> FinalizeServerConfig(ServerConfig config,
                                                  const ServerDefaults& defaults);

// main's logging setup from the config: service name and minimum level; logs
// the effective config (DSN redacted, no secrets) and, with auth disabled, a
// loud warning. Process-wide side effects: call once from main.
void ApplyLogConfig(const ServerConfig& config);

}  // namespace mlops
