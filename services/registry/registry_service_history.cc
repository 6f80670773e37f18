// RegistryServiceImpl: AddEvaluation and ListTransitionRequests (see
// registry_service.h).
#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "services/registry/model_card.h"
#include "services/registry/registry_convert.h"
#include "services/registry/registry_service.h"

namespace mlops::registry {

grpc::Status RegistryServiceImpl::AddEvaluation(grpc::ServerContext* ctx,
                                                const v1::AddEvaluationRequest* req,
                                                v1::ModelVersion* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kEditor);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (absl::Status s = CheckName(req->version().model(), "version.model"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<EvaluationRecord> e = EvaluationFromProto(req->evaluation(), "evaluation");
  if (!e.ok()) return ToGrpcStatus(e.status());
  absl::StatusOr<VersionRecord> out = registry_->AddEvaluation(
      *who, req->version().model(), req->version().version(), *std::move(e));
  if (out.ok()) VersionToProto(*out, resp);
  return ToGrpcStatus(out.status());
}

grpc::Status RegistryServiceImpl::ListTransitionRequests(
    grpc::ServerContext* ctx, const v1::ListTransitionRequestsRequest* req,
    v1::ListTransitionRequestsResponse* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return ToGrpcStatus(who.status());
  TransitionFilter f;
  if (!req->model().empty()) {
    if (absl::Status s = CheckName(req->model(), "model"); !s.ok()) return ToGrpcStatus(s);
  }
  f.model = req->model();
  f.version = req->version();
  for (int s : req->statuses()) {
    if (s < 1 || s > 6) {
      return ToGrpcStatus(absl::InvalidArgumentError("statuses: unknown status"));
    }
    f.statuses.push_back(static_cast<TransitionStatus>(s));
  }
  if (req->target_stage() != v1::STAGE_UNSPECIFIED) {
    absl::StatusOr<Stage> st = StageFromProto(req->target_stage(), "target_stage");
    if (!st.ok()) return ToGrpcStatus(st.status());
    f.target = *st;
  }
  f.start_micros = req->requested().start_micros();
  f.end_micros = req->requested().end_micros();
  if (f.end_micros != 0 && f.start_micros > f.end_micros) {
    return ToGrpcStatus(absl::InvalidArgumentError("requested: start after end"));
  }
  if (!req->page().page_token().empty()) {
    absl::StatusOr<std::string> t = DecodeToken(req->page().page_token());
    const size_t sep = t.ok() ? t->find('/') : std::string::npos;
    if (sep == std::string::npos || !absl::SimpleAtoi(t->substr(0, sep), &f.before_micros)) {
      return ToGrpcStatus(absl::InvalidArgumentError("page.page_token: malformed"));
    }
    f.before_id = t->substr(sep + 1);
  }
  const int size = PageSize(req->page().page_size());
  f.limit = size + 1;
  absl::StatusOr<std::vector<TransitionRecord>> out = registry_->ListTransitions(f);
  if (!out.ok()) return ToGrpcStatus(out.status());
  for (size_t i = 0; i < out->size() && static_cast<int>(i) < size; ++i) {
    TransitionToProto((*out)[i], resp->add_requests());
  }
  if (static_cast<int>(out->size()) > size) {
    const TransitionRecord& last = (*out)[size - 1];
    resp->set_next_page_token(EncodeToken(absl::StrCat(last.requested_at_micros, "/", last.id)));
  }
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::ExportModelCard(grpc::ServerContext* ctx,
                                                  const v1::ExportModelCardRequest* req,
                                                  v1::ExportModelCardResponse* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return ToGrpcStatus(who.status());
  if (absl::Status s = CheckName(req->model(), "model"); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<ModelCardData> data = registry_->ModelCard(req->model(), req->version());
  if (!data.ok()) return ToGrpcStatus(data.status());
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  *resp = BuildModelCard(*data, who->name, now, card_resolver_);
  return grpc::Status::OK;
}

}  // namespace mlops::registry
