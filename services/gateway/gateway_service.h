#pragma once
// InferenceServiceImpl: the gRPC adapter of the gateway. Each handler checks
// the caller's role, checks the request's shape, calls one domain method
// (Predictor, EndpointManager, BatchScoring) and converts the result. Without
// a BatchScoring (no ingestion service configured) the batch RPCs answer
// UNIMPLEMENTED. Predict is served through gRPC's completion-queue API on
// the server's queues (a QueueDrivenService: GrpcServer or GrpcTestServer
// must serve it) and never blocks a thread: a request with all its
// features inline is predicted on the queue's thread where it arrived; one
// with entity keys asks the feature service over a lookup stream opened on
// that same queue (FeatureLookups) and is predicted and answered when the
// answer arrives, so a call's events stay on one thread. The other RPCs
// stay synchronous. Given the server's RpcMetrics, Predict records its own
// RPC metrics (the same series the interceptor writes) so that its calls
// run without interception (see RpcMetrics::RecordedByHandler). Thread-safe.

#include <chrono>
#include <functional>
#include <string>

#include "common/auth/authorizer.h"
#include "common/metrics/rpc_metrics.h"
#include "common/server/queue_driven_service.h"
#include "mlops/inference/v1/inference.grpc.pb.h"
#include "services/gateway/batch_scoring.h"
#include "services/gateway/deployment_watcher.h"
#include "services/gateway/endpoint_manager.h"
#include "services/gateway/predictor.h"

namespace mlops::gateway {

class InferenceServiceImpl final
    : public inference::v1::InferenceService::WithAsyncMethod_Predict<
          inference::v1::InferenceService::Service>,
      public QueueDrivenService {
 public:
  InferenceServiceImpl(Predictor* predictor, EndpointManager* endpoints,
                       const Authorizer* authorizer, std::string gateway_id,
                       const DeploymentWatcher* watcher = nullptr,
                       BatchScoring* batch = nullptr, RpcMetrics* rpc_metrics = nullptr);

  // Requests Predict calls on every queue.
  void StartServing(CompletionQueueThreads* queues) override;
  // Ends the lookup streams opened on the server's queues and waits until
  // every Predict call object is gone.
  void StopServing() override;

  grpc::Status SetRollout(grpc::ServerContext* ctx, const inference::v1::SetRolloutRequest* req,
                          inference::v1::Rollout* resp) override;
  grpc::Status GetRollout(grpc::ServerContext* ctx, const inference::v1::GetRolloutRequest* req,
                          inference::v1::Rollout* resp) override;
  grpc::Status Rollback(grpc::ServerContext* ctx, const inference::v1::RollbackRequest* req,
                        inference::v1::Rollout* resp) override;
  grpc::Status ListEndpoints(grpc::ServerContext* ctx,
                             const inference::v1::ListEndpointsRequest* req,
                             inference::v1::ListEndpointsResponse* resp) override;
  grpc::Status SubmitBatchScoring(grpc::ServerContext* ctx,
                                  const inference::v1::SubmitBatchScoringRequest* req,
                                  inference::v1::BatchScoringJob* resp) override;
  grpc::Status GetBatchScoringJob(grpc::ServerContext* ctx,
                                  const inference::v1::GetBatchScoringJobRequest* req,
                                  inference::v1::BatchScoringJob* resp) override;

 private:
  class PredictCall;
  // Calls requested at once on each queue (each taken call requests the next).
  static constexpr int kCallsPerQueue = 8;

  // Handles one Predict: `answer` is called exactly once, on any thread,
  // with the status and (when OK) the response.
  void HandlePredict(grpc::ServerContext& ctx, const inference::v1::PredictRequest& req,
                     std::function<void(const grpc::Status&, inference::v1::PredictResponse*)> answer);
  absl::Status FillRollout(const std::string& endpoint, inference::v1::Rollout* out) const;

  Predictor* const predictor_;
  EndpointManager* const endpoints_;
  const Authorizer* const authorizer_;
  const std::string gateway_id_;
  const DeploymentWatcher* const watcher_;  // null: the registry stream is not followed
  BatchScoring* const batch_;               // null: batch scoring is not available
  RpcMetrics* const rpc_metrics_;           // null: the interceptor records Predict
  RpcMetrics::Method* const predict_metrics_;  // Predict's handles in rpc_metrics_, or null
  LiveCalls live_calls_;                       // Predict's calls on the server's queues
};

}  // namespace mlops::gateway
