#include "services/features/features_service.h"

#include <string>
#include <utility>
#include <vector>

#include "common/log/log.h"
#include "common/server/queue_unary_call.h"
#include "common/status/grpc_status.h"
#include "google/protobuf/arena.h"
#include "grpcpp/support/slice.h"
#include "services/features/historical.h"
#include "services/features/materializer.h"
#include "services/features/online_server.h"
#include "services/features/online_stream.h"

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

// The request from its bytes, on `arena` (its rows and values cost no
// malloc each).
absl::StatusOr<v1::GetOnlineFeaturesRequest*> ParseOnlineRequest(const grpc::ByteBuffer& bytes,
                                                                 google::protobuf::Arena* arena) {
  auto* req = google::protobuf::Arena::CreateMessage<v1::GetOnlineFeaturesRequest>(arena);
  std::vector<grpc::Slice> slices;
  if (!bytes.Dump(&slices).ok()) return absl::InternalError("request: unreadable buffer");
  bool ok;
  if (slices.size() == 1) {
    ok = req->ParseFromArray(slices[0].begin(), static_cast<int>(slices[0].size()));
  } else {
    std::string joined;
    for (const grpc::Slice& s : slices) {
      joined.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    ok = req->ParseFromString(joined);
  }
  if (!ok) return absl::InvalidArgumentError("request: not a GetOnlineFeaturesRequest");
  return req;
}

// A response buffer that owns `bytes` (no copy).
grpc::ByteBuffer OwningBuffer(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(owned->data(), owned->size(),
                    [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

constexpr char kGetOnlineFeaturesMethod[] = "/mlops.features.v1.FeatureService/GetOnlineFeatures";
constexpr char kStreamOnlineFeaturesMethod[] =
    "/mlops.features.v1.FeatureService/StreamOnlineFeatures";

}  // namespace

FeatureServiceImpl::FeatureServiceImpl(FeatureServiceDeps deps)
    : deps_(deps),
      online_metrics_(deps.rpc_metrics == nullptr
                          ? nullptr
                          : deps.rpc_metrics->RecordedByHandler(kGetOnlineFeaturesMethod)),
      stream_metrics_(deps.rpc_metrics == nullptr
                          ? nullptr
                          : deps.rpc_metrics->RecordedByHandler(kStreamOnlineFeaturesMethod)),
      stream_handlers_{
          [this](grpc::ServerContext& ctx) {
            if (stream_metrics_ != nullptr) deps_.rpc_metrics->OnStart(stream_metrics_);
            return OpenStream(ctx);
          },
          [this](const grpc::ByteBuffer& lookup, bool* deferred) {
            return AnswerLookup(lookup, deferred);
          },
          [this](grpc::ServerContext& ctx, std::chrono::steady_clock::time_point started,
                 const grpc::Status& status) { Record(stream_metrics_, &ctx, started, status); }},
      slow_path_(std::make_unique<OnlineSlowPath>()) {}

FeatureServiceImpl::~FeatureServiceImpl() = default;

// One GetOnlineFeatures call (see QueueUnaryCall).
class FeatureServiceImpl::OnlineCall final : public QueueUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  OnlineCall(FeatureServiceImpl* service, grpc::ServerCompletionQueue* queue)
      : QueueUnaryCall(queue, &service->live_calls_), service_(service) {}

 private:
  void RequestCall() override {
    service_->RequestGetOnlineFeatures(&ctx_, &request_, &responder_, queue(), queue(), this);
  }
  void Handle() override {
    started_ = std::chrono::steady_clock::now();
    if (service_->online_metrics_ != nullptr) {
      service_->deps_.rpc_metrics->OnStart(service_->online_metrics_);
    }
    bool deferred = false;
    grpc::Status status = service_->ServeOnline(&ctx_, request_, &response_, &deferred);
    if (!deferred) {
      Finish(status);
      return;
    }
    // The call and its buffers stay valid until answered.
    const bool queued = service_->slow_path_->Post(
        [this] { Finish(service_->ServeOnline(&ctx_, request_, &response_, nullptr)); });
    if (!queued) {
      Finish(Done("GetOnlineFeatures",
                  absl::UnavailableError("too many calls wait for the view registry")));
    }
  }
  void Renew() override { (new OnlineCall(service_, queue()))->Arm(); }

  void Finish(const grpc::Status& status) {
    service_->Record(service_->online_metrics_, &ctx_, started_, status);
    Answer(status, &response_);
  }

  FeatureServiceImpl* const service_;
  grpc::ByteBuffer response_;
  std::chrono::steady_clock::time_point started_;
};

void FeatureServiceImpl::StartServing(CompletionQueueThreads* queues) {
  for (int q = 0; q < queues->size(); ++q) {
    for (int i = 0; i < kCallsPerQueue; ++i) {
      (new OnlineCall(this, queues->server_queue(q)))->Arm();
      OnlineStream::Arm(this, queues->server_queue(q), slow_path_.get(), &stream_handlers_,
                        &live_calls_);
    }
  }
}

void FeatureServiceImpl::Record(RpcMetrics::Method* method, grpc::ServerContext* ctx,
                                std::chrono::steady_clock::time_point started,
                                const grpc::Status& status) {
  if (method == nullptr) return;
  deps_.rpc_metrics->OnFinish(
      method, RpcMetrics::EffectiveCode(ctx, status.error_code()),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

grpc::Status FeatureServiceImpl::ServeOnline(grpc::ServerContext* ctx,
                                             const grpc::ByteBuffer& request,
                                             grpc::ByteBuffer* response, bool* deferred) {
  FEATURES_AUTHORIZE(who, ctx, Role::kViewer, "GetOnlineFeatures");
  FEATURES_REQUIRE(online, "GetOnlineFeatures");
  google::protobuf::Arena arena;
  absl::StatusOr<v1::GetOnlineFeaturesRequest*> req = ParseOnlineRequest(request, &arena);
  if (!req.ok()) return Done("GetOnlineFeatures", req.status());
  absl::StatusOr<std::string> out = deps_.online->GetSerialized(**req, deferred);
  if (deferred != nullptr && *deferred) return grpc::Status::OK;  // asked again off this thread
  if (out.ok()) *response = OwningBuffer(*std::move(out));
  return Done("GetOnlineFeatures", out.status());
}

grpc::Status FeatureServiceImpl::OpenStream(grpc::ServerContext& ctx) {
  FEATURES_AUTHORIZE(who, &ctx, Role::kViewer, "StreamOnlineFeatures");
  FEATURES_REQUIRE(online, "StreamOnlineFeatures");
  return grpc::Status::OK;
}

std::string FeatureServiceImpl::AnswerLookup(const grpc::ByteBuffer& bytes, bool* deferred) {
  google::protobuf::Arena arena;
  auto* lookup = google::protobuf::Arena::CreateMessage<v1::OnlineFeaturesLookup>(&arena);
  std::vector<grpc::Slice> slices;
  std::string joined;
  bool parsed = bytes.Dump(&slices).ok();
  if (parsed) {
    for (const grpc::Slice& s : slices) {
      joined.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    parsed = lookup->ParseFromString(joined);
  }
  if (!parsed) {
    return EncodeOnlineResult(0, Done("StreamOnlineFeatures",
                                      absl::InvalidArgumentError(
                                          "lookup: not an OnlineFeaturesLookup")),
                              "");
  }
  absl::StatusOr<std::string> out = deps_.online->GetSerialized(lookup->request(), deferred);
  if (deferred != nullptr && *deferred) return "";  // asked again off this thread
  if (!out.ok()) {
    return EncodeOnlineResult(lookup->lookup_id(), Done("StreamOnlineFeatures", out.status()), "");
  }
  return EncodeOnlineResult(lookup->lookup_id(), grpc::Status::OK, *out);
}

}  // namespace mlops::features
