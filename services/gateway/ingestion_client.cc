#include "services/gateway/ingestion_client.h"

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/gateway/batch_stream.h"

namespace mlops::gateway {
namespace {

namespace inv1 = ::mlops::ingestion::v1;

absl::Status Peer(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  const absl::Status status = FromGrpcStatus(s);
  return absl::Status(status.code(), absl::StrCat("ingestion: ", status.message()));
}

}  // namespace

VersionWriter::VersionWriter(inv1::IngestionService::Stub* stub,
                             std::unique_ptr<grpc::ClientContext> ctx)
    : ctx_(std::move(ctx)) {
  writer_ = stub->IngestBatch(ctx_.get(), &response_);
}

VersionWriter::~VersionWriter() {
  if (finished_) return;
  ctx_->TryCancel();  // nothing is stored without BatchEnd
  writer_->Finish().ok();  // returns CANCELLED at once; ends the call cleanly
}

absl::Status VersionWriter::Send(const inv1::IngestBatchRequest& msg) {
  if (writer_->Write(msg)) return absl::OkStatus();
  finished_ = true;
  MLOPS_RETURN_IF_ERROR(Peer(writer_->Finish()));
  return absl::UnavailableError("ingestion: the IngestBatch stream closed early");
}

absl::Status VersionWriter::Start(const inv1::BatchHeader& header) {
  inv1::IngestBatchRequest msg;
  *msg.mutable_header() = header;
  return Send(msg);
}

absl::Status VersionWriter::Write(const std::vector<common::v1::Row>& rows) {
  if (rows.empty()) return absl::OkStatus();
  inv1::IngestBatchRequest msg;
  for (const common::v1::Row& row : rows) *msg.mutable_chunk()->add_rows() = row;
  rows_ += static_cast<int64_t>(rows.size());
  return Send(msg);
}

absl::StatusOr<inv1::DatasetVersion> VersionWriter::Finish() {
  inv1::IngestBatchRequest msg;
  msg.mutable_end()->set_row_count(rows_);
  MLOPS_RETURN_IF_ERROR(Send(msg));
  writer_->WritesDone();
  finished_ = true;
  MLOPS_RETURN_IF_ERROR(Peer(writer_->Finish()));
  if (response_.outcome() == inv1::INGEST_OUTCOME_REJECTED) {
    return absl::FailedPreconditionError(
        "ingestion: the output dataset's expectations rejected the scores");
  }
  return response_.version();
}

IngestionClient::IngestionClient(const PeerChannel* peer, std::chrono::milliseconds long_deadline)
    : peer_(peer),
      long_deadline_(long_deadline),
      stub_(inv1::IngestionService::NewStub(peer->channel())) {}

absl::StatusOr<inv1::DatasetVersion> IngestionClient::GetVersion(const std::string& version_id) {
  inv1::GetDatasetVersionRequest req;
  req.mutable_version()->set_version_id(version_id);
  inv1::DatasetVersion v;
  std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext();
  MLOPS_RETURN_IF_ERROR(Peer(stub_->GetDatasetVersion(ctx.get(), req, &v)));
  return v;
}

absl::StatusOr<std::optional<inv1::Dataset>> IngestionClient::FindDataset(const std::string& name) {
  inv1::GetDatasetRequest req;
  req.set_name(name);
  inv1::Dataset d;
  std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext();
  const grpc::Status s = stub_->GetDataset(ctx.get(), req, &d);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return std::optional<inv1::Dataset>();
  MLOPS_RETURN_IF_ERROR(Peer(s));
  return std::optional<inv1::Dataset>(std::move(d));
}

absl::StatusOr<inv1::Dataset> IngestionClient::CreateDataset(const inv1::CreateDatasetRequest& req) {
  inv1::Dataset d;
  std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext();
  MLOPS_RETURN_IF_ERROR(Peer(stub_->CreateDataset(ctx.get(), req, &d)));
  return d;
}

absl::Status IngestionClient::Read(
    const std::string& version_id, const std::vector<std::string>& columns,
    const std::function<absl::Status(const inv1::ReadHeader&)>& on_header,
    const std::function<absl::Status(const inv1::ReadChunk&)>& on_chunk) {
  inv1::ReadDatasetVersionRequest req;
  req.mutable_version()->set_version_id(version_id);
  for (const std::string& c : columns) req.add_columns(c);
  std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext(long_deadline_);
  std::unique_ptr<grpc::ClientReader<inv1::ReadDatasetVersionResponse>> reader =
      stub_->ReadDatasetVersion(ctx.get(), req);
  return DrainStream(
      ctx.get(), reader.get(),
      [&](const inv1::ReadDatasetVersionResponse& msg) {
        return msg.has_header() ? on_header(msg.header()) : on_chunk(msg.chunk());
      },
      [](const grpc::Status& s) { return Peer(s); });
}

std::unique_ptr<VersionWriter> IngestionClient::NewWriter() {
  return std::make_unique<VersionWriter>(stub_.get(), peer_->NewContext(long_deadline_));
}

}  // namespace mlops::gateway
