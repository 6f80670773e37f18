#include "tests/demo/platform_client.h"

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "grpcpp/create_channel.h"

namespace mlops::demo {
namespace {

std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

PlatformClient::PlatformClient(const PlatformAddresses& a, std::string token)
    : authorization_("Bearer " + std::move(token)),
      ingestion_(ingestion::v1::IngestionService::NewStub(Channel(a.ingestion))),
      features_(features::v1::FeatureService::NewStub(Channel(a.features))),
      training_(training::v1::TrainingService::NewStub(Channel(a.training))),
      registry_(registry::v1::RegistryService::NewStub(Channel(a.registry))),
      gateway_(inference::v1::InferenceService::NewStub(Channel(a.gateway))),
      monitoring_(monitoring::v1::MonitoringService::NewStub(Channel(a.monitoring))) {}

std::unique_ptr<grpc::ClientContext> PlatformClient::Context(
    std::chrono::milliseconds deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  context->AddMetadata("authorization", authorization_);
  return context;
}

absl::Status CheckRpc(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return absl::OkStatus();
  absl::Status s = FromGrpcStatus(status);
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

}  // namespace mlops::demo
