#pragma once
// RegistryServiceImpl: the gRPC adapter of the registry. Each handler
// authorizes the caller, checks the request's shape, converts it to domain
// structs, calls one Registry method and converts back; errors go through
// ToGrpcStatus. RPCs not overridden here (AddEvaluation,
// ListTransitionRequests, ExportModelCard, WatchDeployments, the endpoint and
// deployment-event RPCs) answer UNIMPLEMENTED for now. Does not own the
// Registry or Authorizer.
// Thread-safe.
#include "common/auth/authorizer.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "services/registry/registry.h"

namespace mlops::registry {

class RegistryServiceImpl final : public v1::RegistryService::Service {
 public:
  RegistryServiceImpl(Registry* registry, const Authorizer* authorizer)
      : registry_(registry), authorizer_(authorizer) {}

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

 private:
  Registry* registry_;
  const Authorizer* authorizer_;
};

}  // namespace mlops::registry
