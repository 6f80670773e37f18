#include "common/config/server_config.h"

#include <cctype>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/config/dsn.h"
#include "common/config/env_flags.h"
#include "common/config/file_util.h"

namespace mlops {
namespace {

// Collects "<flag> (env <VAR>): <problem>" messages.
class Problems {
 public:
  void Add(std::string_view flag, absl::string_view problem) {
    list_.push_back(absl::StrCat(FlagAndEnv(flag), ": ", problem));
  }
  void CheckRange(std::string_view flag, long long value, long long lo, long long hi) {
    if (value < lo || value > hi) {
      Add(flag, absl::StrCat(value, " is out of range ", lo, "..", hi));
    }
  }
  // An optional file: when `path` is set it must be readable.
  void CheckFile(std::string_view flag, const std::string& path) {
    if (path.empty()) return;
    const absl::Status s = CheckReadableFile(path);
    if (!s.ok()) Add(flag, s.message());
  }
  absl::Status ToStatus() const {
    if (list_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("invalid configuration: ", absl::StrJoin(list_, "; ")));
  }

 private:
  std::vector<std::string> list_;
};

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void CheckTls(const ServerConfig& c, Problems& p) {
  const TlsOptions& t = c.tls;
  if (t.cert_file.empty() != t.key_file.empty()) {
    p.Add(t.cert_file.empty() ? "tls_cert_file" : "tls_key_file",
          t.cert_file.empty() ? "required when --tls_key_file is set (TLS needs both)"
                              : "required when --tls_cert_file is set (TLS needs both)");
  }
  if (!t.client_ca_file.empty() && t.cert_file.empty()) {
    p.Add("tls_client_ca_file", "mTLS needs --tls_cert_file and --tls_key_file as well");
  }
  p.CheckFile("tls_cert_file", t.cert_file);
  p.CheckFile("tls_key_file", t.key_file);
  p.CheckFile("tls_client_ca_file", t.client_ca_file);
}

void CheckPeers(const ServerConfig& c, Problems& p) {
  for (PeerService s : kAllPeerServices) {
    const std::string& addr = c.peers.address(s);
    if (addr.empty()) continue;
    const absl::Status st = CheckPeerAddress(addr);
    if (!st.ok()) p.Add(PeerAddressFlag(s), st.message());
  }
  if (!c.peers.token.empty() && !c.peers.token_file.empty()) {
    p.Add("peer_token", "set either --peer_token or --peer_token_file, not both");
  }
  p.CheckFile("peer_token_file", c.peers.token_file);
  p.CheckFile("peer_ca_file", c.peers.tls.ca_file);
  p.CheckRange("peer_deadline_ms", c.peers.deadline_ms, 1, 3600 * 1000);
}

}  // namespace

std::string_view PeerServiceName(PeerService service) {
  switch (service) {
    case PeerService::kIngestion: return "ingestion";
    case PeerService::kFeatures: return "features";
    case PeerService::kTraining: return "training";
    case PeerService::kRegistry: return "registry";
    case PeerService::kGateway: return "gateway";
    case PeerService::kMonitoring: return "monitoring";
  }
  return "unknown";
}

std::string PeerAddressFlag(PeerService service) {
  return absl::StrCat(absl::string_view(PeerServiceName(service).data(),
                                        PeerServiceName(service).size()),
                      "_addr");
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  const std::string lower = ToLower(name);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warn" || lower == "warning") return LogLevel::kWarn;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", std::string(name), "\" (debug|info|warn|error)"));
}

absl::Status CheckPeerAddress(std::string_view address) {
  if (address.empty()) return absl::InvalidArgumentError("empty address");
  if (address.find(':') != std::string_view::npos &&
      (address.find(":/") != std::string_view::npos || address.rfind("unix:", 0) == 0 ||
       address.rfind("ipv4:", 0) == 0 || address.rfind("ipv6:", 0) == 0 ||
       address.rfind("dns:", 0) == 0)) {
    return absl::OkStatus();  // a target with a scheme: gRPC resolves it
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", std::string(address), "\" has no port (expected host:port)"));
  }
  const std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", std::string(address), "\" has no host (expected host:port)"));
  }
  if (host.find(':') != std::string_view::npos && (host.front() != '[' || host.back() != ']')) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", std::string(address), "\": write IPv6 hosts in brackets, e.g. [::1]:50051"));
  }
  int port = 0;
  if (!absl::SimpleAtoi(absl::string_view(port_text.data(), port_text.size()), &port) ||
      port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", std::string(address), "\": port must be a number in 1..65535"));
  }
  return absl::OkStatus();
}

absl::Status ValidateServerConfig(const ServerConfig& c, const ServerDefaults& defaults) {
  Problems p;
  if (c.grpc_host.empty()) p.Add("grpc_host", "must not be empty (e.g. 0.0.0.0)");
  p.CheckRange("grpc_port", c.grpc_port, 0, 65535);
  p.CheckRange("metrics_port", c.metrics_port, 0, 65535);
  if (c.grpc_port != 0 && c.grpc_port == c.metrics_port) {
    p.Add("metrics_port", absl::StrCat(c.metrics_port, " is also the --grpc_port"));
  }
  p.CheckRange("grpc_max_threads", c.grpc_max_threads, 2, 4096);
  p.CheckRange("grpc_busy_poll_us", c.grpc_busy_poll_us, 0, 100000);
  p.CheckRange("grpc_max_message_bytes", c.grpc_max_message_bytes, 4096, 1 << 30);
  p.CheckRange("shutdown_grace_seconds", c.shutdown_grace_seconds, 0, 3600);

  if (c.database_url.empty()) {
    if (defaults.database_required) p.Add("database_url", "required (a libpq DSN or postgresql:// URI)");
  } else {
    const absl::Status dsn = CheckDsn(c.database_url);
    if (!dsn.ok()) p.Add("database_url", dsn.message());
  }
  p.CheckRange("pg_pool_size", c.pg_pool_size, 1, 256);
  p.CheckRange("pg_statement_timeout_ms", c.pg_statement_timeout_ms, 0, 24 * 3600 * 1000);

  if (!c.auth_disabled) {
    if (c.auth_tokens_file.empty()) {
      p.Add("auth_tokens_file",
            "required unless --auth_disabled (a file of '<sha256 hex> <principal> <role>' lines)");
    } else {
      p.CheckFile("auth_tokens_file", c.auth_tokens_file);
    }
  }
  CheckTls(c, p);
  if (!c.ports_file.empty() && c.ports_file.back() == '/') {
    p.Add("ports_file", "names a directory; expected a file path");
  }
  const absl::StatusOr<LogLevel> level = ParseLogLevel(c.log_level);
  if (!level.ok()) p.Add("log_level", level.status().message());
  CheckPeers(c, p);
  return p.ToStatus();
}

absl::StatusOr<ServerConfig> FinalizeServerConfig(ServerConfig config,
                                                  const ServerDefaults& defaults) {
  if (config.service_name.empty()) config.service_name = defaults.service_name;
  if (config.grpc_port == kServiceDefaultPort) config.grpc_port = defaults.grpc_port;
  if (config.metrics_port == kServiceDefaultPort) config.metrics_port = defaults.metrics_port;
  const absl::Status valid = ValidateServerConfig(config, defaults);
  if (!valid.ok()) return valid;

  if (!config.peers.token_file.empty()) {
    absl::StatusOr<std::string> text = ReadFileToString(config.peers.token_file);
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagAndEnv("peer_token_file"), ": ", text.status().message()));
    }
    const std::string& t = *text;
    const size_t end = t.find_first_of("\r\n");
    std::string token = t.substr(0, end);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    size_t begin = 0;
    while (begin < token.size() && std::isspace(static_cast<unsigned char>(token[begin]))) ++begin;
    token.erase(0, begin);
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagAndEnv("peer_token_file"), ": ", config.peers.token_file,
                       " is empty (expected the token on its first line)"));
    }
    config.peers.token = std::move(token);
  }
  if (!config.peers.tls.ca_file.empty()) {
    config.peers.tls.cert_file = config.tls.cert_file;
    config.peers.tls.key_file = config.tls.key_file;
  }
  return config;
}

void ApplyLogConfig(const ServerConfig& c) {
  SetLogServiceName(c.service_name);
  const absl::StatusOr<LogLevel> level = ParseLogLevel(c.log_level);
  SetMinLogLevel(level.ok() ? *level : LogLevel::kInfo);
  std::vector<std::string> peers;
  for (PeerService s : kAllPeerServices) {
    if (!c.peers.address(s).empty()) {
      peers.push_back(absl::StrCat(std::string(PeerServiceName(s)), "=", c.peers.address(s)));
    }
  }
  LogInfo("server_config",
          {{"grpc", absl::StrCat(c.grpc_host, ":", c.grpc_port)},
           {"metrics_port", std::to_string(c.metrics_port)},
           {"grpc_max_threads", std::to_string(c.grpc_max_threads)},
           {"grpc_busy_poll_us", std::to_string(c.grpc_busy_poll_us)},
           {"database_url", RedactDsn(c.database_url)},
           {"pg_pool_size", std::to_string(c.pg_pool_size)},
           {"auth", c.auth_disabled ? "disabled" : "tokens"},
           {"tls", c.tls.cert_file.empty() ? "off" : (c.tls.client_ca_file.empty() ? "tls" : "mtls")},
           {"peers", absl::StrJoin(peers, ",")},
           {"peer_tls", c.peers.tls.ca_file.empty() ? "off" : "on"},
           {"peer_token", c.peers.token.empty() ? "unset" : "set"}});
  if (c.auth_disabled) {
    LogWarn("auth_disabled",
            {{"warning",
              "AUTHENTICATION IS DISABLED: every caller is treated as admin 'anonymous'. "
              "For local experiments only; never in a shared or production deployment."}});
  }
}

}  // namespace mlops
