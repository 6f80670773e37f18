#pragma once

// The gRPC clients of the alert actions: retraining through the training
// service's FireTrigger and rollback through the gateway's Rollback. Each
// call gets a fresh context from `new_context` (PeerChannel::NewContext in
// production: deadline and bearer token). Thread-safe (stubs are).
//
// FireTrigger request: trigger_name = the action's trigger id, alert_id =
// the alert id ("alert-<n>"), idempotency_key = the alert id (one job per
// alert however often it is retried), reason = "monitoring alert <id>
// (<model>@<version>, policy <policy>): <summary>" (at most 4096 bytes).
// Rollback request: endpoint = the action's endpoint, reason = the same text.

#include <functional>
#include <memory>
#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "mlops/inference/v1/inference.grpc.pb.h"
#include "mlops/training/v1/training.grpc.pb.h"
#include "services/monitoring/action_runner.h"

namespace mlops::monitoring {

using ContextFactory = std::function<std::unique_ptr<grpc::ClientContext>()>;

// The reason text both calls carry.
std::string AlertReason(const v1::Alert& alert);

class GrpcRetrainClient : public RetrainClient {
 public:
  GrpcRetrainClient(std::shared_ptr<grpc::Channel> channel, ContextFactory new_context);
  absl::StatusOr<std::string> Fire(const std::string& trigger_id, const v1::Alert& alert) override;

 private:
  std::unique_ptr<training::v1::TrainingService::Stub> stub_;
  ContextFactory new_context_;
};

class GrpcRollbackClient : public RollbackClient {
 public:
  GrpcRollbackClient(std::shared_ptr<grpc::Channel> channel, ContextFactory new_context);
  absl::StatusOr<std::string> Rollback(const std::string& endpoint,
                                       const v1::Alert& alert) override;

 private:
  std::unique_ptr<inference::v1::InferenceService::Stub> stub_;
  ContextFactory new_context_;
};

}  // namespace mlops::monitoring
