#include "services/gateway/gateway_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/queue_unary_call.h"
#include "common/status/grpc_status.h"
#include "services/gateway/batch_convert.h"
#include "services/gateway/names.h"
#include "services/gateway/rollout_convert.h"

namespace mlops::gateway {
namespace {

namespace iv1 = ::mlops::inference::v1;
constexpr std::size_t kMaxReason = 4096;
constexpr char kPredictMethod[] = "/mlops.inference.v1.InferenceService/Predict";

absl::Status CheckEndpoint(const std::string& endpoint) {
  if (IsName(endpoint)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("endpoint \"", endpoint, "\": not a valid name"));
}

absl::Status CheckReason(const std::string& reason) {
  if (reason.empty()) return absl::InvalidArgumentError("reason: required");
  if (reason.size() > kMaxReason) return absl::InvalidArgumentError("reason: over 4 KiB");
  return absl::OkStatus();
}

grpc::Status Done(const char* rpc, const absl::Status& s) {
  if (!s.ok() && (absl::IsInternal(s) || absl::IsUnknown(s) || absl::IsDataLoss(s))) {
    LogError("rpc_failed", {{"rpc", rpc}, {"status", s.ToString()}});
  }
  return ToGrpcStatus(s);
}

}  // namespace

InferenceServiceImpl::InferenceServiceImpl(Predictor* predictor, EndpointManager* endpoints,
                                           const Authorizer* authorizer, std::string gateway_id,
                                           const DeploymentWatcher* watcher, BatchScoring* batch,
                                           RpcMetrics* rpc_metrics)
    : predictor_(predictor),
      endpoints_(endpoints),
      authorizer_(authorizer),
      gateway_id_(std::move(gateway_id)),
      watcher_(watcher),
      batch_(batch),
      rpc_metrics_(rpc_metrics),
      predict_metrics_(rpc_metrics == nullptr
                           ? nullptr
                           : rpc_metrics->RecordedByHandler(kPredictMethod)) {}

// One Predict call (see QueueUnaryCall).
class InferenceServiceImpl::PredictCall final
    : public QueueUnaryCall<iv1::PredictRequest, iv1::PredictResponse> {
 public:
  PredictCall(InferenceServiceImpl* service, grpc::ServerCompletionQueue* queue)
      : QueueUnaryCall(queue, &service->live_calls_), service_(service) {}

 private:
  void RequestCall() override {
    service_->RequestPredict(&ctx_, &request_, &responder_, queue(), queue(), this);
  }
  void Handle() override {
    service_->HandlePredict(ctx_, request_,
                            [this](const grpc::Status& status, iv1::PredictResponse* response) {
                              Answer(status, response);
                            });
  }
  void Renew() override { (new PredictCall(service_, queue()))->Arm(); }

  InferenceServiceImpl* const service_;
};

void InferenceServiceImpl::StartServing(CompletionQueueThreads* queues) {
  for (int q = 0; q < queues->size(); ++q) {
    for (int i = 0; i < kCallsPerQueue; ++i) (new PredictCall(this, queues->server_queue(q)))->Arm();
  }
}

void InferenceServiceImpl::StopServing() {
  // Calls still waiting for a lookup are answered once the streams end
  // (their lookups are asked again as unary calls) or at their deadlines.
  predictor_->ReleaseQueues();
  live_calls_.WaitUntilNone();
}

void InferenceServiceImpl::HandlePredict(
    grpc::ServerContext& ctx, const iv1::PredictRequest& req,
    std::function<void(const grpc::Status&, iv1::PredictResponse*)> answer) {
  // Records the RPC metrics (when this handler does), then answers.
  auto finish = [this, ctx = &ctx, answer = std::move(answer),
                 started = std::chrono::steady_clock::now()](const grpc::Status& status,
                                                              iv1::PredictResponse* response) {
    if (predict_metrics_ != nullptr) {
      rpc_metrics_->OnFinish(
          predict_metrics_, RpcMetrics::EffectiveCode(ctx, status.error_code()),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    answer(status, response);
  };
  if (predict_metrics_ != nullptr) rpc_metrics_->OnStart(predict_metrics_);
  absl::Status s = authorizer_->Authorize(ctx, Role::kViewer).status();
  if (s.ok()) s = CheckEndpoint(req.endpoint());
  if (!s.ok()) {
    finish(ToGrpcStatus(s), nullptr);
    return;
  }
  // The call lives until answered: req and ctx stay valid until then.
  predictor_->PredictAsync(req, ctx.deadline(),
                           [finish = std::move(finish)](absl::StatusOr<iv1::PredictResponse> out) {
                             if (!out.ok()) {
                               finish(Done("Predict", out.status()), nullptr);
                               return;
                             }
                             finish(grpc::Status::OK, &*out);
                           });
}

absl::Status InferenceServiceImpl::FillRollout(const std::string& endpoint, iv1::Rollout* out) const {
  std::shared_ptr<const Serving> s = endpoints_->Find(endpoint);
  if (s == nullptr || !s->rollout) {
    return absl::NotFoundError(absl::StrCat("endpoint \"", endpoint, "\": no rollout"));
  }
  RolloutToProto(*s, endpoints_->LastAnalysis(endpoint), gateway_id_, out);
  return absl::OkStatus();
}

grpc::Status InferenceServiceImpl::SetRollout(grpc::ServerContext* ctx,
                                              const iv1::SetRolloutRequest* req,
                                              iv1::Rollout* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kDeployer);
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::Status s = CheckEndpoint(req->endpoint());
  if (s.ok()) s = CheckReason(req->reason());
  if (s.ok() && req->candidate_version() < 1) {
    s = absl::InvalidArgumentError("candidate_version: required, >= 1");
  }
  if (s.ok() && req->primary_version() < 0) s = absl::InvalidArgumentError("primary_version: negative");
  absl::StatusOr<RolloutPlan> plan = PlanFromSpec(req->spec());
  if (s.ok()) s = plan.status();
  if (!s.ok()) return ToGrpcStatus(s);
  StartRollout start;
  start.endpoint = req->endpoint();
  start.primary_version = req->primary_version();
  start.candidate_version = req->candidate_version();
  start.plan = *plan;
  start.spec_bytes = req->spec().SerializeAsString();
  start.reason = req->reason();
  start.replace_active = req->replace_active();
  start.principal = who->name;
  absl::StatusOr<SetRolloutResult> r = endpoints_->SetRollout(start);
  if (!r.ok()) return Done("SetRollout", r.status());
  std::shared_ptr<const Serving> now = endpoints_->Find(req->endpoint());
  if (r->applied && now != nullptr && now->rollout &&
      now->rollout->rollout_id == r->rollout.rollout_id) {
    RolloutToProto(*now, endpoints_->LastAnalysis(req->endpoint()), gateway_id_, resp);
    return grpc::Status::OK;
  }
  // Accepted by the registry but not (or no longer) what this replica runs.
  Serving pending;
  pending.endpoint = req->endpoint();
  pending.rollout = r->rollout;
  pending.plan = *plan;
  pending.stats = std::make_shared<RolloutStats>();
  RolloutToProto(pending, AnalysisResult{}, gateway_id_, resp);
  return grpc::Status::OK;
}

grpc::Status InferenceServiceImpl::GetRollout(grpc::ServerContext* ctx,
                                              const iv1::GetRolloutRequest* req,
                                              iv1::Rollout* resp) {
  if (absl::Status s = authorizer_->Authorize(*ctx, Role::kViewer).status(); !s.ok()) {
    return ToGrpcStatus(s);
  }
  return Done("GetRollout", FillRollout(req->endpoint(), resp));
}

grpc::Status InferenceServiceImpl::Rollback(grpc::ServerContext* ctx,
                                            const iv1::RollbackRequest* req, iv1::Rollout* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kDeployer);
  if (!who.ok()) return ToGrpcStatus(who.status());
  absl::Status s = CheckEndpoint(req->endpoint());
  if (s.ok()) s = CheckReason(req->reason());
  if (!s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<RolloutRecord> r = endpoints_->Rollback(req->endpoint(), req->reason(), who->name);
  if (!r.ok() && !absl::IsUnavailable(r.status())) return Done("Rollback", r.status());
  absl::Status filled = FillRollout(req->endpoint(), resp);
  if (!r.ok()) return Done("Rollback", r.status());  // local rollback done; registry not told
  return Done("Rollback", filled.ok() || absl::IsNotFound(filled) ? absl::OkStatus() : filled);
}

grpc::Status InferenceServiceImpl::ListEndpoints(grpc::ServerContext* ctx,
                                                 const iv1::ListEndpointsRequest* req,
                                                 iv1::ListEndpointsResponse* resp) {
  if (absl::Status s = authorizer_->Authorize(*ctx, Role::kViewer).status(); !s.ok()) {
    return ToGrpcStatus(s);
  }
  const std::string& token = req->page().page_token();
  if (!token.empty() && !IsName(token)) {
    return ToGrpcStatus(absl::InvalidArgumentError("page.page_token: malformed"));
  }
  const int size = req->page().page_size() > 0 ? req->page().page_size() : 100;
  for (const std::shared_ptr<const Serving>& s : endpoints_->List()) {  // ordered by name
    if (!token.empty() && s->endpoint <= token) continue;
    if (resp->endpoints_size() == size) {
      resp->set_next_page_token(resp->endpoints(size - 1).name());
      break;
    }
    EndpointToProto(*s, resp->add_endpoints());
  }
  if (watcher_ != nullptr) {
    resp->set_registry_connected(watcher_->connected());
    resp->set_last_registry_update_at_micros(watcher_->last_update_micros());
  }
  return grpc::Status::OK;
}

grpc::Status InferenceServiceImpl::SubmitBatchScoring(grpc::ServerContext* ctx,
                                                      const iv1::SubmitBatchScoringRequest* req,
                                                      iv1::BatchScoringJob* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kEditor);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (batch_ == nullptr) {
    return ToGrpcStatus(absl::UnimplementedError("batch scoring needs the ingestion service (--ingestion_addr)"));
  }
  absl::StatusOr<BatchJob> job = batch_->Submit(SpecFromProto(*req), who->name);
  if (!job.ok()) return Done("SubmitBatchScoring", job.status());
  JobToProto(*job, resp);
  return grpc::Status::OK;
}

grpc::Status InferenceServiceImpl::GetBatchScoringJob(grpc::ServerContext* ctx,
                                                      const iv1::GetBatchScoringJobRequest* req,
                                                      iv1::BatchScoringJob* resp) {
  if (absl::Status s = authorizer_->Authorize(*ctx, Role::kViewer).status(); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (batch_ == nullptr) {
    return ToGrpcStatus(absl::UnimplementedError("batch scoring needs the ingestion service (--ingestion_addr)"));
  }
  absl::StatusOr<BatchJob> job = batch_->Get(req->job_id());
  if (!job.ok()) return Done("GetBatchScoringJob", job.status());
  JobToProto(*job, resp);
  return grpc::Status::OK;
}

}  // namespace mlops::gateway
