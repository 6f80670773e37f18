#pragma once
// The gateway's calls to the registry over gRPC: versions with their
// signatures (GetModelVersion), artifacts (GetArtifact, purpose DEPLOYMENT),
// endpoints (GetEndpointConfig) and deployment events (RecordDeploymentEvent).
// Converts registry protos to the gateway's plain structs. Thread-safe.

#include <memory>
#include <string>

#include "common/peers/peer_channel.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "services/gateway/endpoint_manager.h"
#include "services/gateway/model_runtime.h"

namespace mlops::gateway {

// The signature as the gateway uses it; InvalidArgument for a type it cannot feed.
absl::StatusOr<ModelSignature> SignatureFromProto(const registry::v1::ModelSignature& s);

class RegistryClient final : public ArtifactSource,
                             public EndpointDirectory,
                             public DeploymentReporter {
 public:
  // `peer` is not owned and must outlive the client. `purpose` is what
  // artifact reads are recorded as (DEPLOYMENT for serving, BATCH_SCORING
  // for batch jobs).
  RegistryClient(const PeerChannel* peer, std::string gateway_id,
                 registry::v1::ArtifactReadPurpose purpose =
                     registry::v1::ARTIFACT_READ_PURPOSE_DEPLOYMENT);

  absl::StatusOr<ModelVersionInfo> GetVersion(const std::string& model, int64_t version) override;
  absl::StatusOr<std::string> GetArtifact(const ModelVersionInfo& info,
                                          const std::string& endpoint) override;
  absl::StatusOr<std::string> EndpointModel(const std::string& endpoint) override;
  absl::StatusOr<int64_t> ProductionVersion(const std::string& model) override;
  absl::StatusOr<std::string> Report(const DeploymentEvent& event) override;

 private:
  const PeerChannel* const peer_;
  const std::string gateway_id_;
  const registry::v1::ArtifactReadPurpose purpose_;
  std::unique_ptr<registry::v1::RegistryService::Stub> stub_;
};

}  // namespace mlops::gateway
