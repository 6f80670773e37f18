#pragma once
// Reading a gRPC server stream to its end with a callback per message, as
// batch scoring's peer clients do (ingestion's ReadDatasetVersion, the
// feature service's GetHistoricalFeatures). Stateless; thread-safe.

#include "absl/status/status.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/sync_stream.h"

namespace mlops::gateway {

// Calls `on_message(msg)` per message. An error from it cancels the call
// and is returned; otherwise the call's own status through `to_status`.
template <typename Msg, typename OnMessage, typename ToStatus>
absl::Status DrainStream(grpc::ClientContext* ctx, grpc::ClientReader<Msg>* reader,
                         const OnMessage& on_message, const ToStatus& to_status) {
  Msg msg;
  absl::Status failed;
  while (failed.ok() && reader->Read(&msg)) failed = on_message(msg);
  if (!failed.ok()) {
    ctx->TryCancel();
    while (reader->Read(&msg)) {
    }
    reader->Finish().ok();  // CANCELLED; the callback's error is what counts
    return failed;
  }
  return to_status(reader->Finish());
}

}  // namespace mlops::gateway
