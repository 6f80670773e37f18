#include "common/status/grpc_status.h"

#include <string>

#include "common/log/log.h"

namespace mlops {
namespace {

std::string Truncate(std::string message) {
  if (message.size() <= kMaxGrpcMessageBytes) return message;
  constexpr std::string_view kMarker = "... (truncated)";
  message.resize(kMaxGrpcMessageBytes - kMarker.size());
  // Do not leave half a UTF-8 sequence at the end.
  while (!message.empty() &&
         (static_cast<unsigned char>(message.back()) & 0xC0) == 0x80) {
    message.pop_back();
  }
  if (!message.empty() && (static_cast<unsigned char>(message.back()) & 0x80)) {
    message.pop_back();
  }
  return message + std::string(kMarker);
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kUnknown) {
    LogError("internal_error", {{"code", absl::StatusCodeToString(status.code())},
                                {"detail", std::string(status.message())}});
    return grpc::Status(code, "internal error; see the server log");
  }
  return grpc::Status(code, Truncate(std::string(status.message())));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace mlops
