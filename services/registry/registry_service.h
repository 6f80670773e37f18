#pragma once
// RegistryServiceImpl: the gRPC adapter of the registry. Each handler
// authorizes the caller, checks the request's shape, converts it to domain
// structs, calls one Registry method and converts back; errors go through
// ToGrpcStatus. Does not own the Registry or Authorizer.
// Thread-safe.
#include "common/auth/authorizer.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "services/registry/change_notifier.h"
#include "services/registry/deployment_feed.h"
#include "services/registry/registry.h"

#include "services/registry/card_resolver.h"

namespace mlops::registry {

class RegistryServiceImpl final : public v1::RegistryService::Service {
 public:
  // `feed` and `notifier` may be null: WatchDeployments is then UNIMPLEMENTED.
  RegistryServiceImpl(Registry* registry, const Authorizer* authorizer,
                      DeploymentFeed* feed = nullptr, ChangeNotifier* notifier = nullptr,
                      absl::Duration poll_interval = absl::Milliseconds(250))
      : registry_(registry),
        authorizer_(authorizer),
        feed_(feed),
        notifier_(notifier),
        poll_interval_(poll_interval) {}

  // Resolves model cards' lineage and monitoring status through the peers
  // (unset: those parts of a card are marked unavailable).
  void set_card_resolver(const CardResolver* resolver) { card_resolver_ = resolver; }

  grpc::Status CreateModel(grpc::ServerContext* ctx, const v1::CreateModelRequest* req,
                           v1::Model* resp) override;
  grpc::Status GetModel(grpc::ServerContext* ctx, const v1::GetModelRequest* req,
                        v1::Model* resp) override;
  grpc::Status ListModels(grpc::ServerContext* ctx, const v1::ListModelsRequest* req,
                          v1::ListModelsResponse* resp) override;
  grpc::Status RegisterModelVersion(grpc::ServerContext* ctx,
                                    grpc::ServerReader<v1::RegisterModelVersionRequest>* reader,
                                    v1::ModelVersion* resp) override;
  grpc::Status GetModelVersion(grpc::ServerContext* ctx, const v1::GetModelVersionRequest* req,
                               v1::ModelVersion* resp) override;
  grpc::Status ListModelVersions(grpc::ServerContext* ctx,
                                 const v1::ListModelVersionsRequest* req,
                                 v1::ListModelVersionsResponse* resp) override;
  grpc::Status GetArtifact(grpc::ServerContext* ctx, const v1::GetArtifactRequest* req,
                           grpc::ServerWriter<v1::GetArtifactResponse>* writer) override;
  grpc::Status SetGatePolicy(grpc::ServerContext* ctx, const v1::SetGatePolicyRequest* req,
                             v1::GatePolicy* resp) override;
  grpc::Status GetGatePolicy(grpc::ServerContext* ctx, const v1::GetGatePolicyRequest* req,
                             v1::GatePolicy* resp) override;
  grpc::Status RequestTransition(grpc::ServerContext* ctx,
                                 const v1::RequestTransitionRequest* req,
                                 v1::TransitionRequest* resp) override;
  grpc::Status GetTransitionRequest(grpc::ServerContext* ctx,
                                    const v1::GetTransitionRequestRequest* req,
                                    v1::TransitionRequest* resp) override;
  grpc::Status Approve(grpc::ServerContext* ctx, const v1::ApproveRequest* req,
                       v1::TransitionRequest* resp) override;
  grpc::Status Reject(grpc::ServerContext* ctx, const v1::RejectRequest* req,
                      v1::TransitionRequest* resp) override;
  grpc::Status SetAlias(grpc::ServerContext* ctx, const v1::SetAliasRequest* req,
                        v1::Alias* resp) override;
  grpc::Status DeleteAlias(grpc::ServerContext* ctx, const v1::DeleteAliasRequest* req,
                           v1::DeleteAliasResponse* resp) override;
  grpc::Status GetAuditLog(grpc::ServerContext* ctx, const v1::GetAuditLogRequest* req,
                           v1::GetAuditLogResponse* resp) override;
  grpc::Status VerifyAuditLog(grpc::ServerContext* ctx, const v1::VerifyAuditLogRequest* req,
                              v1::VerifyAuditLogResponse* resp) override;
  // Evaluations, transition history, model cards: registry_service_history.cc.
  grpc::Status ExportModelCard(grpc::ServerContext* ctx, const v1::ExportModelCardRequest* req,
                               v1::ExportModelCardResponse* resp) override;
  grpc::Status AddEvaluation(grpc::ServerContext* ctx, const v1::AddEvaluationRequest* req,
                             v1::ModelVersion* resp) override;
  grpc::Status ListTransitionRequests(grpc::ServerContext* ctx,
                                      const v1::ListTransitionRequestsRequest* req,
                                      v1::ListTransitionRequestsResponse* resp) override;
  // Endpoints and the deployment stream: registry_service_deployments.cc.
  grpc::Status SetEndpointConfig(grpc::ServerContext* ctx, const v1::SetEndpointConfigRequest* req,
                                 v1::EndpointConfig* resp) override;
  grpc::Status GetEndpointConfig(grpc::ServerContext* ctx, const v1::GetEndpointConfigRequest* req,
                                 v1::EndpointConfig* resp) override;
  grpc::Status ListEndpointConfigs(grpc::ServerContext* ctx,
                                   const v1::ListEndpointConfigsRequest* req,
                                   v1::ListEndpointConfigsResponse* resp) override;
  // Snapshot, then every committed change within poll_interval (sooner on
  // this replica: the notifier wakes the stream), heartbeats every 5 s; ends
  // with UNAVAILABLE when the notifier shuts down (drain).
  grpc::Status WatchDeployments(grpc::ServerContext* ctx, const v1::WatchDeploymentsRequest* req,
                                grpc::ServerWriter<v1::WatchDeploymentsResponse>* writer) override;
  grpc::Status RecordDeploymentEvent(grpc::ServerContext* ctx,
                                     const v1::RecordDeploymentEventRequest* req,
                                     v1::RecordDeploymentEventResponse* resp) override;

 private:
  Registry* registry_;
  const Authorizer* authorizer_;
  DeploymentFeed* feed_;
  ChangeNotifier* notifier_;
  absl::Duration poll_interval_;
  const CardResolver* card_resolver_ = nullptr;
};

}  // namespace mlops::registry
