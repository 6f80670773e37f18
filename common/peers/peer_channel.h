#pragma once
// Client channels to the other services. A PeerChannel owns one grpc::Channel
// to one peer (created once, with keepalive and message-size limits) and
// makes ClientContexts that always carry a deadline and, when a token is set,
// `authorization: Bearer <token>`. Typed stubs are made by callers:
//
//   auto stub = mlops::registry::v1::RegistryService::NewStub(peer->channel());
//   std::unique_ptr<grpc::ClientContext> ctx = peer->NewContext();
//   grpc::Status s = stub->GetModel(ctx.get(), request, &response);
//   if (!s.ok()) return mlops::FromGrpcStatus(s);
//
// PeerChannels holds one PeerChannel per configured peer of a ServerConfig.
// Both are thread-safe (immutable after Create; grpc::Channel is thread-safe).

#include <array>
#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/config/server_config.h"
#include "common/config/tls_options.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace mlops {

// Client keepalive: ping after this much idle time on a connection with calls
// in flight. Servers must accept pings this often (common/server's
// GrpcKeepaliveOptions::min_ping_interval is 10 s).
inline constexpr std::chrono::milliseconds kPeerKeepaliveTime{30000};
inline constexpr std::chrono::milliseconds kPeerKeepaliveTimeout{10000};

struct PeerChannelOptions {
  std::string address;           // host:port or a gRPC target (dns:///..., unix:...)
  ClientTlsOptions tls;          // all empty = plaintext
  std::string bearer_token;      // empty = no authorization metadata
  std::chrono::milliseconds default_deadline{5000};
  int max_message_bytes = 64 << 20;  // send and receive
  std::chrono::milliseconds keepalive_time = kPeerKeepaliveTime;
  std::chrono::milliseconds keepalive_timeout = kPeerKeepaliveTimeout;
  // The name the server certificate must carry when it differs from the
  // address's host (e.g. connecting to 127.0.0.1 with a cert for "registry").
  std::string tls_server_name;
};

class PeerChannel {
 public:
  // `name` is for messages ("registry"). InvalidArgument for an empty or
  // malformed address, a non-positive deadline, or bad TLS files.
  static absl::StatusOr<std::unique_ptr<PeerChannel>> Create(std::string name,
                                                             PeerChannelOptions options);

  PeerChannel(const PeerChannel&) = delete;
  PeerChannel& operator=(const PeerChannel&) = delete;

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // A context for one call: deadline now + `deadline` (default: the
  // configured default) and the bearer token, if any.
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  std::unique_ptr<grpc::ClientContext> NewContext(std::chrono::milliseconds deadline) const;

  const std::string& name() const { return name_; }
  const std::string& address() const { return address_; }
  std::chrono::milliseconds default_deadline() const { return default_deadline_; }

 private:
  PeerChannel(std::string name, std::string address, std::shared_ptr<grpc::Channel> channel,
              std::string authorization, std::chrono::milliseconds default_deadline);

  const std::string name_;
  const std::string address_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::string authorization_;  // "Bearer <token>" or empty
  const std::chrono::milliseconds default_deadline_;
};

// One PeerChannel per peer whose address is set in a ServerConfig (token,
// deadline, TLS from config.peers; message size from grpc_max_message_bytes).
class PeerChannels {
 public:
  static absl::StatusOr<std::unique_ptr<PeerChannels>> Create(const ServerConfig& config);

  PeerChannels(const PeerChannels&) = delete;
  PeerChannels& operator=(const PeerChannels&) = delete;

  bool has(PeerService service) const { return peers_[Index(service)] != nullptr; }

  // The channel to `service`; FailedPrecondition naming the flag and env var
  // (e.g. --registry_addr (env MLOPS_REGISTRY_ADDR)) when it is not configured.
  absl::StatusOr<const PeerChannel*> Get(PeerService service) const;

 private:
  PeerChannels() = default;
  static size_t Index(PeerService s) { return static_cast<size_t>(s); }

  std::array<std::unique_ptr<PeerChannel>, kNumPeerServices> peers_;
};

}  // namespace mlops
