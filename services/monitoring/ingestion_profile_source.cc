#include "services/monitoring/ingestion_profile_source.h"

#include "common/status/grpc_status.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"

namespace mlops::monitoring {

absl::StatusOr<common::v1::DatasetProfile> IngestionProfileSource::GetDatasetProfile(
    const std::string& version_id) {
  auto stub = ingestion::v1::IngestionService::NewStub(ingestion_->channel());
  ingestion::v1::GetProfileRequest req;
  req.mutable_version()->set_version_id(version_id);
  ingestion::v1::GetProfileResponse resp;
  std::unique_ptr<grpc::ClientContext> ctx = ingestion_->NewContext();
  grpc::Status s = stub->GetProfile(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return std::move(*resp.mutable_profile());
}

}  // namespace mlops::monitoring
