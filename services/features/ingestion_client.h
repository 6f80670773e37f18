#pragma once
// IngestionClient: the calls the feature service makes to the ingestion
// service (datasets, versions, streamed reads), over one gRPC channel.
// Thread-safe (grpc channels and stubs are); owns neither the channel's
// server nor the credentials: `new_context` makes each call's context
// (deadline, bearer token).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/impl/rpc_method.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"

namespace mlops::features {

namespace iv1 = ::mlops::ingestion::v1;

class IngestionClient {
 public:
  using ContextFactory =
      std::function<std::unique_ptr<grpc::ClientContext>(std::chrono::milliseconds deadline)>;

  IngestionClient(std::shared_ptr<grpc::Channel> channel, ContextFactory new_context);

  // The dataset (schema, head). NotFound when it does not exist.
  absl::StatusOr<iv1::Dataset> GetDataset(const std::string& name) const;

  // A version of `dataset` by id; empty or "latest" = its head. NotFound
  // when it does not exist or belongs to another dataset.
  absl::StatusOr<iv1::DatasetVersion> GetVersion(const std::string& dataset,
                                                 const std::string& version_id) const;

  // The newest `limit` versions, newest first.
  absl::StatusOr<std::vector<iv1::DatasetVersion>> ListVersions(const std::string& dataset,
                                                                int limit) const;

  // Streams the rows of a version (only `columns`, in that order; empty =
  // all): on_header once, then on_chunk per chunk. Stops at the first error.
  // The chunk lives on an arena that ends when on_chunk returns: copy what
  // must outlive it (a Swap with a heap message copies too).
  absl::Status Read(const std::string& dataset, const std::string& version_id,
                    const std::vector<std::string>& columns,
                    const std::function<absl::Status(const iv1::ReadHeader&)>& on_header,
                    const std::function<absl::Status(iv1::ReadChunk&)>& on_chunk) const;
  // The same from row `offset` of the version's stable order (reading an
  // APPEND version from its parent's row_count yields the appended rows).
  absl::Status ReadFrom(const std::string& dataset, const std::string& version_id,
                        const std::vector<std::string>& columns, int64_t offset,
                        const std::function<absl::Status(const iv1::ReadHeader&)>& on_header,
                        const std::function<absl::Status(iv1::ReadChunk&)>& on_chunk) const;

  // The same read as raw messages: on_message gets each serialized
  // ReadDatasetVersionResponse (valid during the call), in order. A helper
  // thread receives the next messages (up to kReadAhead) while on_message
  // runs, so decoding overlaps the transfer. Stops at the first error.
  static constexpr size_t kReadAhead = 4;
  absl::Status ReadRaw(const std::string& dataset, const std::string& version_id,
                       const std::vector<std::string>& columns, int64_t offset,
                       const std::function<absl::Status(std::string_view)>& on_message) const;

 private:
  iv1::ReadDatasetVersionRequest ReadRequest(const std::string& dataset,
                                             const std::string& version_id,
                                             const std::vector<std::string>& columns,
                                             int64_t offset) const;

  std::shared_ptr<grpc::Channel> channel_;
  grpc::internal::RpcMethod read_method_;  // ReadDatasetVersion, its response as raw bytes
  std::unique_ptr<iv1::IngestionService::Stub> stub_;
  ContextFactory new_context_;
};

}  // namespace mlops::features
