#pragma once
// The gRPC face of the ingestion service: authorizes each call (viewer reads,
// editor writes), hands it to Ingestion and converts statuses. Thread-safe
// (stateless apart from the drain flag).
#include <atomic>

#include "common/auth/authorizer.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/source_catalog.h"
#include "services/ingestion/source_puller.h"

namespace mlops::ingestion {

// ReadDatasetVersion is a raw callback method: its messages are written as
// the bytes Ingestion encodes (read_reactor.h), not through protos.
class IngestionServiceImpl final
    : public v1::IngestionService::WithRawCallbackMethod_ReadDatasetVersion<
          v1::IngestionService::Service> {
 public:
  // Does not own its arguments (they must outlive the service). Without a
  // catalog and puller the source RPCs are UNIMPLEMENTED.
  IngestionServiceImpl(Ingestion* ingestion, const Authorizer* authorizer,
                       SourceCatalog* sources = nullptr, SourcePuller* puller = nullptr);

  // Ends open watches with UNAVAILABLE (called on drain).
  void Drain() { draining_ = true; }

  grpc::Status CreateDataset(grpc::ServerContext* ctx, const v1::CreateDatasetRequest* req,
                             v1::Dataset* resp) override;
  grpc::Status GetDataset(grpc::ServerContext* ctx, const v1::GetDatasetRequest* req,
                          v1::Dataset* resp) override;
  grpc::Status ListDatasets(grpc::ServerContext* ctx, const v1::ListDatasetsRequest* req,
                            v1::ListDatasetsResponse* resp) override;
  grpc::Status UpdateExpectations(grpc::ServerContext* ctx,
                                  const v1::UpdateExpectationsRequest* req,
                                  v1::ExpectationSuite* resp) override;
  grpc::Status IngestBatch(grpc::ServerContext* ctx,
                           grpc::ServerReader<v1::IngestBatchRequest>* reader,
                           v1::IngestBatchResponse* resp) override;
  grpc::Status ValidateBatch(grpc::ServerContext* ctx,
                             grpc::ServerReader<v1::IngestBatchRequest>* reader,
                             v1::ValidateBatchResponse* resp) override;
  grpc::Status GetDatasetVersion(grpc::ServerContext* ctx,
                                 const v1::GetDatasetVersionRequest* req,
                                 v1::DatasetVersion* resp) override;
  grpc::Status ListDatasetVersions(grpc::ServerContext* ctx,
                                   const v1::ListDatasetVersionsRequest* req,
                                   v1::ListDatasetVersionsResponse* resp) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* ReadDatasetVersion(
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request) override;
  grpc::Status GetProfile(grpc::ServerContext* ctx, const v1::GetProfileRequest* req,
                          v1::GetProfileResponse* resp) override;
  grpc::Status GetLineage(grpc::ServerContext* ctx, const v1::GetLineageRequest* req,
                          v1::GetLineageResponse* resp) override;
  grpc::Status WatchDatasetVersions(
      grpc::ServerContext* ctx, const v1::WatchDatasetVersionsRequest* req,
      grpc::ServerWriter<v1::WatchDatasetVersionsResponse>* writer) override;
  grpc::Status CreateSource(grpc::ServerContext* ctx, const v1::CreateSourceRequest* req,
                            v1::Source* resp) override;
  grpc::Status ListSources(grpc::ServerContext* ctx, const v1::ListSourcesRequest* req,
                           v1::ListSourcesResponse* resp) override;
  grpc::Status TriggerSourcePull(grpc::ServerContext* ctx, const v1::TriggerSourcePullRequest* req,
                                 v1::SourcePullResult* resp) override;

 private:
  // Reads header, chunks and end; the session after BatchEnd and its count.
  absl::StatusOr<std::pair<std::unique_ptr<BatchSession>, int64_t>> ReadBatch(
      grpc::ServerContext* ctx, grpc::ServerReader<v1::IngestBatchRequest>* reader,
      const Principal& who, bool dry_run);

  Ingestion* ingestion_;
  const Authorizer* authorizer_;
  SourceCatalog* sources_;
  SourcePuller* puller_;
  std::atomic<bool> draining_{false};
};

}  // namespace mlops::ingestion
