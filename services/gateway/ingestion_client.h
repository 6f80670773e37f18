#pragma once
// The gateway's calls to the ingestion service over gRPC, for batch scoring:
// dataset versions and datasets (unary), reading a version's rows
// (ReadDatasetVersion, chunk by chunk), creating a dataset, and writing a new
// version (IngestBatch through VersionWriter). Thread-safe; one
// VersionWriter belongs to one thread.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/peers/peer_channel.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"

namespace mlops::gateway {

// One IngestBatch stream: Start, Write any number of times, Finish. Nothing
// is stored unless Finish succeeds (destroying it earlier cancels the stream).
class VersionWriter {
 public:
  VersionWriter(ingestion::v1::IngestionService::Stub* stub, std::unique_ptr<grpc::ClientContext> ctx);
  ~VersionWriter();
  VersionWriter(const VersionWriter&) = delete;
  VersionWriter& operator=(const VersionWriter&) = delete;

  absl::Status Start(const ingestion::v1::BatchHeader& header);
  absl::Status Write(const std::vector<common::v1::Row>& rows);
  // The committed (or replayed) version; FailedPrecondition when the
  // dataset's expectations rejected the batch.
  absl::StatusOr<ingestion::v1::DatasetVersion> Finish();

 private:
  absl::Status Send(const ingestion::v1::IngestBatchRequest& msg);
  std::unique_ptr<grpc::ClientContext> ctx_;
  ingestion::v1::IngestBatchResponse response_;
  std::unique_ptr<grpc::ClientWriter<ingestion::v1::IngestBatchRequest>> writer_;
  int64_t rows_ = 0;
  bool finished_ = false;
};

class IngestionClient {
 public:
  // `peer` is not owned and must outlive the client. `long_deadline` bounds
  // whole reads and writes of a version.
  IngestionClient(const PeerChannel* peer,
                  std::chrono::milliseconds long_deadline = std::chrono::hours(6));

  absl::StatusOr<ingestion::v1::DatasetVersion> GetVersion(const std::string& version_id);
  // nullopt when there is no such dataset.
  absl::StatusOr<std::optional<ingestion::v1::Dataset>> FindDataset(const std::string& name);
  absl::StatusOr<ingestion::v1::Dataset> CreateDataset(const ingestion::v1::CreateDatasetRequest& req);

  // Streams version `version_id` projected on `columns`: `on_header` once,
  // then `on_chunk` per chunk. An error from a callback cancels the read and
  // is returned.
  absl::Status Read(const std::string& version_id, const std::vector<std::string>& columns,
                    const std::function<absl::Status(const ingestion::v1::ReadHeader&)>& on_header,
                    const std::function<absl::Status(const ingestion::v1::ReadChunk&)>& on_chunk);

  std::unique_ptr<VersionWriter> NewWriter();

 private:
  const PeerChannel* const peer_;
  const std::chrono::milliseconds long_deadline_;
  std::unique_ptr<ingestion::v1::IngestionService::Stub> stub_;
};

}  // namespace mlops::gateway
