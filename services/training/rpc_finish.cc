#include "services/training/rpc_finish.h"

#include <string>

#include "common/log/log.h"
#include "common/status/grpc_status.h"

namespace mlops::training {

grpc::Status FinishRpc(const char* rpc, const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  bool server_side = s.code() == absl::StatusCode::kInternal ||
                     s.code() == absl::StatusCode::kUnknown ||
                     s.code() == absl::StatusCode::kUnavailable ||
                     s.code() == absl::StatusCode::kDataLoss;
  LogFields fields = {{"rpc", rpc},
                      {"code", absl::StatusCodeToString(s.code())},
                      {"message", std::string(s.message())}};
  if (server_side) {
    LogWarn("rpc_failed", fields);
  } else {
    LogDebug("rpc_failed", fields);
  }
  return ToGrpcStatus(s);
}

}  // namespace mlops::training
