#include "services/features/features_service.h"

#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "services/features/historical.h"
#include "services/features/materializer.h"
#include "services/features/online_server.h"

namespace mlops::features {
namespace {

// Logs a failed RPC once when it is the server's fault, and converts it.
grpc::Status Done(const char* method, const absl::Status& s) {
  if (!s.ok() && (s.code() == absl::StatusCode::kInternal ||
                  s.code() == absl::StatusCode::kUnavailable ||
                  s.code() == absl::StatusCode::kDataLoss)) {
    LogWarn("features_rpc_failed", {{"method", method}, {"status", s.ToString()}});
  }
  return ToGrpcStatus(s);
}

#define FEATURES_AUTHORIZE(who, ctx, role, method)                          \
  absl::StatusOr<Principal> who = deps_.authorizer->Authorize(*(ctx), role); \
  if (!who.ok()) return Done(method, who.status())

#define FEATURES_REQUIRE(dep, method) \
  if (deps_.dep == nullptr) return Done(method, absl::UnimplementedError(method))

}  // namespace

grpc::Status FeatureServiceImpl::RegisterFeatureView(grpc::ServerContext* ctx,
                                                     const v1::RegisterFeatureViewRequest* req,
                                                     v1::RegisterFeatureViewResponse* resp) {
  FEATURES_AUTHORIZE(who, ctx, Role::kEditor, "RegisterFeatureView");
  auto out = deps_.views->Register(req->spec(), who->name);
  if (out.ok()) {
    *resp->mutable_view() = std::move(out->first);
    resp->set_created(out->second);
  }
  return Done("RegisterFeatureView", out.status());
}

grpc::Status FeatureServiceImpl::GetFeatureView(grpc::ServerContext* ctx,
                                                const v1::GetFeatureViewRequest* req,
                                                v1::FeatureView* resp) {
  FEATURES_AUTHORIZE(who, ctx, Role::kViewer, "GetFeatureView");
  absl::StatusOr<ResolvedView> out = deps_.views->Get(req->name(), req->version());
  if (out.ok()) *resp = std::move(out->view);
  return Done("GetFeatureView", out.status());
}

grpc::Status FeatureServiceImpl::ListFeatureViews(grpc::ServerContext* ctx,
                                                  const v1::ListFeatureViewsRequest* req,
                                                  v1::ListFeatureViewsResponse* resp) {
  FEATURES_AUTHORIZE(who, ctx, Role::kViewer, "ListFeatureViews");
  absl::StatusOr<v1::ListFeatureViewsResponse> out = deps_.views->List(*req);
  if (out.ok()) *resp = std::move(*out);
  return Done("ListFeatureViews", out.status());
}

grpc::Status FeatureServiceImpl::GetHistoricalFeatures(
    grpc::ServerContext* ctx, const v1::GetHistoricalFeaturesRequest* req,
    grpc::ServerWriter<v1::GetHistoricalFeaturesResponse>* writer) {
  FEATURES_AUTHORIZE(who, ctx, Role::kViewer, "GetHistoricalFeatures");
  FEATURES_REQUIRE(historical, "GetHistoricalFeatures");
  absl::Status s = deps_.historical->Run(*req, [&](v1::GetHistoricalFeaturesResponse& msg) {
    if (ctx->IsCancelled()) return absl::CancelledError("the client cancelled the call");
    if (!writer->Write(msg)) return absl::UnavailableError("the client stopped reading");
    return absl::OkStatus();
  });
  return Done("GetHistoricalFeatures", s);
}

grpc::Status FeatureServiceImpl::Materialize(grpc::ServerContext* ctx,
                                             const v1::MaterializeRequest* req,
                                             v1::MaterializeResponse* resp) {
  FEATURES_AUTHORIZE(who, ctx, Role::kEditor, "Materialize");
  FEATURES_REQUIRE(materializer, "Materialize");
  MaterializeParams p;
  p.view = req->view();
  p.version = req->version();
  p.as_of_micros = req->as_of_micros();
  p.requested_mode =
      req->mode() == v1::MATERIALIZATION_MODE_FULL ? RunMode::kFull : RunMode::kIncremental;
  p.source_version_id = req->source_dataset_version_id();
  p.trigger = "manual";
  p.principal = who->name;
  absl::StatusOr<RunRecord> run = deps_.materializer->Materialize(p);
  if (run.ok()) RunToProto(*run, resp->mutable_run());
  return Done("Materialize", run.status());
}

grpc::Status FeatureServiceImpl::GetMaterializationStatus(
    grpc::ServerContext* ctx, const v1::GetMaterializationStatusRequest* req,
    v1::GetMaterializationStatusResponse* resp) {
  FEATURES_AUTHORIZE(who, ctx, Role::kViewer, "GetMaterializationStatus");
  FEATURES_REQUIRE(materializer, "GetMaterializationStatus");
  absl::StatusOr<v1::GetMaterializationStatusResponse> out =
      deps_.materializer->Status(req->view(), req->version());
  if (out.ok()) *resp = std::move(*out);
  return Done("GetMaterializationStatus", out.status());
}

namespace {

// One call's request and response on an arena of their own.
class ArenaHolder final
    : public grpc::MessageHolder<v1::GetOnlineFeaturesRequest, v1::GetOnlineFeaturesResponse> {
 public:
  ArenaHolder() {
    set_request(google::protobuf::Arena::CreateMessage<v1::GetOnlineFeaturesRequest>(&arena_));
    set_response(google::protobuf::Arena::CreateMessage<v1::GetOnlineFeaturesResponse>(&arena_));
  }
  void Release() override { delete this; }

 private:
  google::protobuf::Arena arena_;
};

}  // namespace

grpc::MessageHolder<v1::GetOnlineFeaturesRequest, v1::GetOnlineFeaturesResponse>*
FeatureServiceImpl::ArenaAllocator::AllocateMessages() {
  return new ArenaHolder();
}

FeatureServiceImpl::FeatureServiceImpl(FeatureServiceDeps deps) : deps_(deps) {
  SetMessageAllocatorFor_GetOnlineFeatures(&allocator_);
}

grpc::ServerUnaryReactor* FeatureServiceImpl::GetOnlineFeatures(
    grpc::CallbackServerContext* ctx, const v1::GetOnlineFeaturesRequest* req,
    v1::GetOnlineFeaturesResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish([&]() -> grpc::Status {
    FEATURES_AUTHORIZE(who, ctx, Role::kViewer, "GetOnlineFeatures");
    FEATURES_REQUIRE(online, "GetOnlineFeatures");
    absl::Status out = deps_.online->Get(*req, resp);
    if (!out.ok()) resp->Clear();
    return Done("GetOnlineFeatures", out);
  }());
  return reactor;
}

}  // namespace mlops::features
