#pragma once
// The one mapping between absl::Status (used inside services) and
// grpc::Status (on the wire). Thread-safe, stateless.

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace mlops {

// Messages longer than this are cut (with a marker) before they go on the wire.
inline constexpr size_t kMaxGrpcMessageBytes = 1024;

// Maps code and message. INTERNAL and UNKNOWN carry a generic message (the
// detail is logged here, once, with the code), never internals.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for clients of peer services.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace mlops
