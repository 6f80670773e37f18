#include "common/peers/peer_channel.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/authorizer.h"
#include "common/auth/tls.h"
#include "common/config/env_flags.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace mlops {

absl::StatusOr<std::unique_ptr<PeerChannel>> PeerChannel::Create(std::string name,
                                                                 PeerChannelOptions options) {
  const absl::Status address_ok = CheckPeerAddress(options.address);
  if (!address_ok.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer ", name, " address: ", address_ok.message()));
  }
  if (options.default_deadline.count() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("peer ", name, ": deadline must be positive"));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options.tls);
  if (!credentials.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer ", name, " TLS: ", credentials.status().message()));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options.keepalive_time.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options.keepalive_timeout.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // Keep pinging idle streams (e.g. a long WatchAlerts) without data frames.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.address, *credentials, args);
  std::string authorization =
      options.bearer_token.empty() ? std::string() : BearerValue(options.bearer_token);
  return std::unique_ptr<PeerChannel>(new PeerChannel(std::move(name), std::move(options.address),
                                                      std::move(channel), std::move(authorization),
                                                      options.default_deadline));
}

PeerChannel::PeerChannel(std::string name, std::string address,
                         std::shared_ptr<grpc::Channel> channel, std::string authorization,
                         std::chrono::milliseconds default_deadline)
    : name_(std::move(name)),
      address_(std::move(address)),
      channel_(std::move(channel)),
      authorization_(std::move(authorization)),
      default_deadline_(default_deadline) {}

std::unique_ptr<grpc::ClientContext> PeerChannel::NewContext() const {
  return NewContext(default_deadline_);
}

std::unique_ptr<grpc::ClientContext> PeerChannel::NewContext(
    std::chrono::milliseconds deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  if (!authorization_.empty()) context->AddMetadata(kAuthorizationKey, authorization_);
  return context;
}

absl::StatusOr<std::unique_ptr<PeerChannels>> PeerChannels::Create(const ServerConfig& config) {
  std::unique_ptr<PeerChannels> peers(new PeerChannels());
  for (PeerService s : kAllPeerServices) {
    const std::string& address = config.peers.address(s);
    if (address.empty()) continue;
    PeerChannelOptions options;
    options.address = address;
    options.tls = config.peers.tls;
    options.bearer_token = config.peers.token;
    options.default_deadline = std::chrono::milliseconds(config.peers.deadline_ms);
    options.max_message_bytes = config.grpc_max_message_bytes;
    absl::StatusOr<std::unique_ptr<PeerChannel>> channel =
        PeerChannel::Create(std::string(PeerServiceName(s)), std::move(options));
    if (!channel.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagAndEnv(PeerAddressFlag(s)), ": ", channel.status().message()));
    }
    peers->peers_[Index(s)] = *std::move(channel);
  }
  return peers;
}

absl::StatusOr<const PeerChannel*> PeerChannels::Get(PeerService service) const {
  const PeerChannel* peer = peers_[Index(service)].get();
  if (peer == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no address configured for the ", std::string(PeerServiceName(service)),
        " service: set ", FlagAndEnv(PeerAddressFlag(service))));
  }
  return peer;
}

}  // namespace mlops
