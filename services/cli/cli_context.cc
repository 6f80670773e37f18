#include "services/cli/cli_context.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"

namespace mlops::cli {

int ReportError(const absl::Status& status, const std::string& what) {
  std::string hint;
  int code = kExitFailed;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      code = kExitUnavailable;
      hint = "is the service running? check the address (--<service>_addr, MLOPS_<SERVICE>_ADDR "
             "or the config file) and `mlopsctl status`";
      break;
    case absl::StatusCode::kNotFound:
      code = kExitNotFound;
      break;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
      code = kExitInvalid;
      break;
    case absl::StatusCode::kUnauthenticated:
      code = kExitAuth;
      hint = "pass a valid token: --token, --token_file, MLOPS_TOKEN or token_file= in the config";
      break;
    case absl::StatusCode::kPermissionDenied:
      code = kExitAuth;
      hint = "your token's role is too low for this command";
      break;
    default:
      break;
  }
  std::fprintf(stderr, "error: %s: %s\n", what.c_str(), std::string(status.message()).c_str());
  if (!hint.empty()) std::fprintf(stderr, "hint: %s\n", hint.c_str());
  return code;
}

int UsageError(const absl::Status& status, const std::string& command) {
  std::fprintf(stderr, "error: %s: %s\nhint: see `mlopsctl help`\n", command.c_str(),
               std::string(status.message()).c_str());
  return kExitUsage;
}

std::string CliContext::Address(const std::string& service) const {
  auto it = config_.addresses.find(service);
  if (it != config_.addresses.end()) return it->second;
  auto def = DefaultAddresses().find(service);
  return def == DefaultAddresses().end() ? "" : def->second;
}

std::shared_ptr<grpc::Channel> CliContext::Channel(const std::string& service) {
  auto it = channels_.find(service);
  if (it != channels_.end()) return it->second;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // `status --wait` polls services that may not listen yet: keep reconnects quick.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto channel =
      grpc::CreateCustomChannel(Address(service), grpc::InsecureChannelCredentials(), args);
  channels_[service] = channel;
  return channel;
}

std::unique_ptr<grpc::ClientContext> CliContext::NewContext(
    std::chrono::milliseconds timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  const auto deadline =
      timeout.count() > 0 ? timeout : std::chrono::milliseconds(config_.timeout_ms);
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  if (!config_.token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", config_.token));
  }
  return context;
}

}  // namespace mlops::cli
