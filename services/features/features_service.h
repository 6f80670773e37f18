#pragma once
// FeatureServiceImpl: the gRPC handlers of mlops.features.v1.FeatureService.
// Thin: authorize, call the domain classes, convert the status. Owns none of
// the objects it is given (they must outlive it). Thread-safe as they are.

#include <chrono>
#include <memory>

#include "common/auth/authorizer.h"
#include "common/metrics/rpc_metrics.h"
#include "common/server/queue_driven_service.h"
#include "grpcpp/support/byte_buffer.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "services/features/online_slow_path.h"
#include "services/features/online_stream.h"
#include "services/features/view_registry.h"

namespace mlops::features {

class HistoricalRetrieval;
class Materializer;
class OnlineServer;

struct FeatureServiceDeps {
  ViewRegistry* views = nullptr;
  HistoricalRetrieval* historical = nullptr;  // null: UNIMPLEMENTED
  Materializer* materializer = nullptr;       // null: UNIMPLEMENTED
  OnlineServer* online = nullptr;             // null: UNIMPLEMENTED
  const Authorizer* authorizer = nullptr;
  // The server's per-RPC metrics: GetOnlineFeatures records its own calls
  // (RpcMetrics::RecordedByHandler), so they run without gRPC interception
  // and skip the completion-queue hand-off it costs. Null: the interceptor
  // records them.
  RpcMetrics* rpc_metrics = nullptr;
};

// GetOnlineFeatures and StreamOnlineFeatures are raw methods on gRPC's
// completion-queue API, served on the server's queues (a
// QueueDrivenService: GrpcServer or GrpcTestServer must serve it; see
// CompletionQueueThreads for why). GetOnlineFeatures parses the request
// itself (on an arena) and answers with the bytes OnlineServer::GetSerialized
// writes, the response's protobuf encoding built without a message per
// value. It answers on the queue's thread and never blocks it: the error
// path that tells an unknown view from one not loaded (a Postgres read)
// runs on OnlineSlowPath's thread. Clients see the proto's messages as
// before. StreamOnlineFeatures answers the same lookups, each with the same
// code path, over a raw bidi stream (online_stream.h). Both record their
// RPC metrics themselves when given the server's RpcMetrics. The other
// methods are synchronous.
class FeatureServiceImpl final
    : public OnlineStream::Service, public QueueDrivenService {
 public:
  explicit FeatureServiceImpl(FeatureServiceDeps deps);
  ~FeatureServiceImpl() override;

  grpc::Status RegisterFeatureView(grpc::ServerContext* ctx,
                                   const v1::RegisterFeatureViewRequest* req,
                                   v1::RegisterFeatureViewResponse* resp) override;
  grpc::Status GetFeatureView(grpc::ServerContext* ctx, const v1::GetFeatureViewRequest* req,
                              v1::FeatureView* resp) override;
  grpc::Status ListFeatureViews(grpc::ServerContext* ctx,
                                const v1::ListFeatureViewsRequest* req,
                                v1::ListFeatureViewsResponse* resp) override;
  grpc::Status GetHistoricalFeatures(
      grpc::ServerContext* ctx, const v1::GetHistoricalFeaturesRequest* req,
      grpc::ServerWriter<v1::GetHistoricalFeaturesResponse>* writer) override;
  grpc::Status Materialize(grpc::ServerContext* ctx, const v1::MaterializeRequest* req,
                           v1::MaterializeResponse* resp) override;
  grpc::Status GetMaterializationStatus(grpc::ServerContext* ctx,
                                        const v1::GetMaterializationStatusRequest* req,
                                        v1::GetMaterializationStatusResponse* resp) override;
  // Waits for GetOnlineFeatures calls and lookup streams on every queue.
  void StartServing(CompletionQueueThreads* queues) override;
  // Waits until every call on the server's queues is gone.
  void StopServing() override { live_calls_.WaitUntilNone(); }

 private:
  class OnlineCall;
  static constexpr int kCallsPerQueue = 8;

  // One GetOnlineFeatures call; `deferred` as OnlineServer::GetSerialized's.
  grpc::Status ServeOnline(grpc::ServerContext* ctx, const grpc::ByteBuffer& request,
                           grpc::ByteBuffer* response, bool* deferred);
  // Records a finished call's metrics when this handler records them
  // (`method` null: the interceptor does).
  void Record(RpcMetrics::Method* method, grpc::ServerContext* ctx,
              std::chrono::steady_clock::time_point started, const grpc::Status& status);
  // Whether to take a lookup stream (OnlineStream::Open).
  grpc::Status OpenStream(grpc::ServerContext& ctx);

  // One lookup of a stream: its OnlineFeaturesResult, encoded
  // (OnlineStream::Answer).
  std::string AnswerLookup(const grpc::ByteBuffer& lookup, bool* deferred);

  FeatureServiceDeps deps_;
  RpcMetrics::Method* const online_metrics_;  // null: recorded by the interceptor
  RpcMetrics::Method* const stream_metrics_;  // likewise, for StreamOnlineFeatures
  OnlineStream::Handlers stream_handlers_;
  LiveCalls live_calls_;  // GetOnlineFeatures calls and lookup streams
  std::unique_ptr<OnlineSlowPath> slow_path_;  // last: its thread finishes calls using deps_
};

}  // namespace mlops::features
