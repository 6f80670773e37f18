#pragma once
// The one ending of every training RPC handler: logs a failed call once (the
// RPC name, code and message; server-side codes at warn level) and converts
// the status to gRPC's. Thread-safe.

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace mlops::training {

grpc::Status FinishRpc(const char* rpc, const absl::Status& status);

}  // namespace mlops::training
