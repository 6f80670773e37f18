#include "services/registry/registry_service.h"

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "services/registry/registry_convert.h"
#include "services/registry/version_list_convert.h"

namespace mlops::registry {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

// Logs a failed RPC once (STYLE §3) and converts its status.
grpc::Status Done(const char* method, const absl::Status& s) {
  if (!s.ok() && (s.code() == absl::StatusCode::kInternal ||
                  s.code() == absl::StatusCode::kUnavailable ||
                  s.code() == absl::StatusCode::kDataLoss)) {
    LogWarn("registry_rpc_failed", {{"method", method}, {"status", s.ToString()}});
  }
  return ToGrpcStatus(s);
}

#define REGISTRY_AUTHORIZE(who, ctx, role, method)                   \
  absl::StatusOr<Principal> who = authorizer_->Authorize(*(ctx), role); \
  if (!who.ok()) return Done(method, who.status())

#define REGISTRY_CHECK(method, expr)                  \
  do {                                                \
    absl::Status _st = (expr);                        \
    if (!_st.ok()) return Done(method, _st);          \
  } while (0)

}  // namespace

grpc::Status RegistryServiceImpl::CreateModel(grpc::ServerContext* ctx,
                                              const v1::CreateModelRequest* req,
                                              v1::Model* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kEditor, "CreateModel");
  REGISTRY_CHECK("CreateModel", CheckName(req->name(), "name"));
  ModelRecord m;
  m.name = req->name();
  m.description = req->description();
  m.owner = req->owner();
  for (const auto& kv : req->tags()) m.tags.emplace_back(kv.key(), kv.value());
  absl::StatusOr<ModelRecord> out = registry_->CreateModel(*who, std::move(m));
  if (out.ok()) ModelToProto(*out, resp);
  return Done("CreateModel", out.status());
}

grpc::Status RegistryServiceImpl::GetModel(grpc::ServerContext* ctx,
                                           const v1::GetModelRequest* req, v1::Model* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "GetModel");
  REGISTRY_CHECK("GetModel", CheckName(req->name(), "name"));
  absl::StatusOr<ModelRecord> out = registry_->GetModel(req->name());
  if (out.ok()) ModelToProto(*out, resp);
  return Done("GetModel", out.status());
}

grpc::Status RegistryServiceImpl::ListModels(grpc::ServerContext* ctx,
                                             const v1::ListModelsRequest* req,
                                             v1::ListModelsResponse* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "ListModels");
  Tags tags;
  for (const auto& kv : req->tags()) tags.emplace_back(kv.key(), kv.value());
  std::string after;
  if (!req->page().page_token().empty()) {
    absl::StatusOr<std::string> t = DecodeToken(req->page().page_token());
    if (!t.ok()) return Done("ListModels", t.status());
    after = *t;
  }
  const int size = PageSize(req->page().page_size());
  absl::StatusOr<std::vector<ModelRecord>> out =
      registry_->ListModels(req->name_prefix(), after, size + 1, tags);
  if (!out.ok()) return Done("ListModels", out.status());
  for (size_t i = 0; i < out->size() && static_cast<int>(i) < size; ++i) {
    ModelToProto((*out)[i], resp->add_models());
  }
  if (static_cast<int>(out->size()) > size) {
    resp->set_next_page_token(EncodeToken((*out)[size - 1].name));
  }
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::RegisterModelVersion(
    grpc::ServerContext* ctx, grpc::ServerReader<v1::RegisterModelVersionRequest>* reader,
    v1::ModelVersion* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kEditor, "RegisterModelVersion");
  v1::RegisterModelVersionRequest msg;
  if (!reader->Read(&msg)) {
    return Done("RegisterModelVersion", absl::InvalidArgumentError("no header received"));
  }
  if (!msg.has_header()) {
    return Done("RegisterModelVersion",
                absl::InvalidArgumentError("the first message must be the header"));
  }
  absl::StatusOr<NewVersion> nv = NewVersionFromHeader(msg.header());
  if (!nv.ok()) return Done("RegisterModelVersion", nv.status());
  REGISTRY_CHECK("RegisterModelVersion", registry_->PrecheckVersion(*nv));
  // Streamed bytes go straight into the artifact store, verified at Commit.
  std::unique_ptr<ArtifactWriter> upload;
  if (!nv->by_reference) {
    absl::StatusOr<std::unique_ptr<ArtifactWriter>> w =
        registry_->BeginArtifactUpload(nv->record.artifact_sha256, nv->record.artifact_size);
    if (!w.ok()) return Done("RegisterModelVersion", w.status());
    upload = *std::move(w);
  }
  int64_t chunks = 0;
  while (reader->Read(&msg)) {
    ++chunks;
    if (msg.has_header()) {
      return Done("RegisterModelVersion",
                  absl::InvalidArgumentError(absl::StrCat("message ", chunks + 1,
                                                          ": a second header")));
    }
    if (upload == nullptr) {
      return Done("RegisterModelVersion", absl::InvalidArgumentError(
                                              "artifact chunks after an artifact_reference"));
    }
    REGISTRY_CHECK("RegisterModelVersion", upload->Append(msg.artifact_chunk()));
  }
  if (ctx->IsCancelled()) {
    return Done("RegisterModelVersion", absl::CancelledError("client cancelled: nothing stored"));
  }
  if (upload != nullptr) {
    REGISTRY_CHECK("RegisterModelVersion", upload->Commit().status());
    nv->by_reference = true;  // stored now
  }
  absl::StatusOr<VersionRecord> out = registry_->RegisterVersion(*who, *std::move(nv));
  if (out.ok()) VersionToProto(*out, resp);
  return Done("RegisterModelVersion", out.status());
}

grpc::Status RegistryServiceImpl::GetModelVersion(grpc::ServerContext* ctx,
                                                  const v1::GetModelVersionRequest* req,
                                                  v1::ModelVersion* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "GetModelVersion");
  REGISTRY_CHECK("GetModelVersion", CheckName(req->model(), "model"));
  absl::StatusOr<VersionRecord> out;
  switch (req->selector_case()) {
    case v1::GetModelVersionRequest::kVersion:
      out = registry_->GetVersion(req->model(), req->version());
      break;
    case v1::GetModelVersionRequest::kAlias:
      REGISTRY_CHECK("GetModelVersion", CheckName(req->alias(), "alias"));
      out = registry_->GetVersionByAlias(req->model(), req->alias());
      break;
    case v1::GetModelVersionRequest::kStage: {
      absl::StatusOr<Stage> stage = StageFromProto(req->stage(), "stage");
      if (!stage.ok()) return Done("GetModelVersion", stage.status());
      out = registry_->GetVersionInStage(req->model(), *stage);
      break;
    }
    default:
      out = absl::InvalidArgumentError("one of version, alias or stage is required");
  }
  if (out.ok()) VersionToProto(*out, resp);
  return Done("GetModelVersion", out.status());
}

grpc::Status RegistryServiceImpl::ListModelVersions(grpc::ServerContext* ctx,
                                                    const v1::ListModelVersionsRequest* req,
                                                    v1::ListModelVersionsResponse* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "ListModelVersions");
  absl::StatusOr<VersionFilter> f = VersionFilterFromProto(*req);
  if (!f.ok()) return Done("ListModelVersions", f.status());
  absl::StatusOr<std::vector<VersionRecord>> out = registry_->ListVersions(*f);
  if (!out.ok()) return Done("ListModelVersions", out.status());
  const size_t size = static_cast<size_t>(f->limit - 1);
  for (size_t i = 0; i < out->size() && i < size; ++i) {
    VersionToProto((*out)[i], resp->add_versions());
  }
  if (out->size() > size) resp->set_next_page_token(NextVersionPageToken(*f, (*out)[size - 1]));
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::GetArtifact(grpc::ServerContext* ctx,
                                              const v1::GetArtifactRequest* req,
                                              grpc::ServerWriter<v1::GetArtifactResponse>* writer) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "GetArtifact");
  if (req->sha256().empty() && req->version().model().empty()) {
    return Done("GetArtifact", absl::InvalidArgumentError("sha256 or version is required"));
  }
  if (!req->sha256().empty()) REGISTRY_CHECK("GetArtifact", CheckSha256(req->sha256(), "sha256"));
  if (!req->version().model().empty()) {
    REGISTRY_CHECK("GetArtifact", CheckName(req->version().model(), "version.model"));
  }
  if (req->offset() < 0) {
    return Done("GetArtifact", absl::InvalidArgumentError("offset: must be >= 0"));
  }
  const char* purpose = "INSPECTION";
  if (req->purpose() == v1::ARTIFACT_READ_PURPOSE_DEPLOYMENT) purpose = "DEPLOYMENT";
  if (req->purpose() == v1::ARTIFACT_READ_PURPOSE_BATCH_SCORING) purpose = "BATCH_SCORING";
  absl::StatusOr<std::unique_ptr<ArtifactReader>> artifact =
      registry_->OpenArtifact(*who, req->sha256(), req->version().model(),
                              req->version().version(), purpose, req->endpoint(), req->offset());
  if (!artifact.ok()) return Done("GetArtifact", artifact.status());
  v1::GetArtifactResponse msg;
  msg.mutable_info()->set_sha256((*artifact)->info().sha256);
  msg.mutable_info()->set_size_bytes((*artifact)->info().size_bytes);
  if (!writer->Write(msg)) return Done("GetArtifact", absl::CancelledError("client went away"));
  for (;;) {
    absl::StatusOr<std::string> chunk = (*artifact)->Read(kChunkBytes);
    if (!chunk.ok()) return Done("GetArtifact", chunk.status());
    if (chunk->empty()) return grpc::Status::OK;
    msg.Clear();
    msg.set_chunk(*std::move(chunk));
    if (!writer->Write(msg)) return Done("GetArtifact", absl::CancelledError("client went away"));
  }
}

grpc::Status RegistryServiceImpl::SetGatePolicy(grpc::ServerContext* ctx,
                                                const v1::SetGatePolicyRequest* req,
                                                v1::GatePolicy* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kDeployer, "SetGatePolicy");
  absl::StatusOr<GatePolicy> p = PolicyFromProto(req->policy());
  if (!p.ok()) return Done("SetGatePolicy", p.status());
  absl::StatusOr<GatePolicy> out = registry_->SetGatePolicy(*who, *std::move(p), req->reason());
  if (out.ok()) PolicyToProto(*out, resp);
  return Done("SetGatePolicy", out.status());
}

grpc::Status RegistryServiceImpl::GetGatePolicy(grpc::ServerContext* ctx,
                                                const v1::GetGatePolicyRequest* req,
                                                v1::GatePolicy* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "GetGatePolicy");
  REGISTRY_CHECK("GetGatePolicy", CheckName(req->model(), "model"));
  absl::StatusOr<GatePolicy> out = registry_->GetGatePolicy(req->model());
  if (out.ok()) PolicyToProto(*out, resp);
  return Done("GetGatePolicy", out.status());
}

grpc::Status RegistryServiceImpl::RequestTransition(grpc::ServerContext* ctx,
                                                    const v1::RequestTransitionRequest* req,
                                                    v1::TransitionRequest* resp) {
  // Editor here; the domain asks for deployer when PRODUCTION is involved.
  REGISTRY_AUTHORIZE(who, ctx, Role::kEditor, "RequestTransition");
  REGISTRY_CHECK("RequestTransition", CheckName(req->version().model(), "version.model"));
  absl::StatusOr<Stage> target = StageFromProto(req->target_stage(), "target_stage");
  if (!target.ok()) return Done("RequestTransition", target.status());
  if (req->reason().empty()) {
    return Done("RequestTransition", absl::InvalidArgumentError("reason: required"));
  }
  TransitionAsk ask{req->version().model(), req->version().version(), *target, req->reason(),
                    req->dry_run(), req->allow_empty_production()};
  absl::StatusOr<TransitionOutcome> out = registry_->RequestTransition(*who, ask);
  if (!out.ok()) return Done("RequestTransition", out.status());
  TransitionToProto(out->request, resp);
  return Done("RequestTransition", out->status);
}

grpc::Status RegistryServiceImpl::GetTransitionRequest(
    grpc::ServerContext* ctx, const v1::GetTransitionRequestRequest* req,
    v1::TransitionRequest* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "GetTransitionRequest");
  absl::StatusOr<TransitionRecord> out = registry_->GetTransition(req->id());
  if (out.ok()) TransitionToProto(*out, resp);
  return Done("GetTransitionRequest", out.status());
}

grpc::Status RegistryServiceImpl::Approve(grpc::ServerContext* ctx, const v1::ApproveRequest* req,
                                          v1::TransitionRequest* resp) {
  // Viewer here; the domain checks the policy's approver role and four eyes.
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "Approve");
  absl::StatusOr<TransitionOutcome> out =
      registry_->Approve(*who, req->request_id(), req->comment());
  if (!out.ok()) return Done("Approve", out.status());
  TransitionToProto(out->request, resp);
  return Done("Approve", out->status);
}

grpc::Status RegistryServiceImpl::Reject(grpc::ServerContext* ctx, const v1::RejectRequest* req,
                                         v1::TransitionRequest* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "Reject");
  if (req->comment().empty()) {
    return Done("Reject", absl::InvalidArgumentError("comment: required"));
  }
  absl::StatusOr<TransitionRecord> out = registry_->Reject(*who, req->request_id(), req->comment());
  if (out.ok()) TransitionToProto(*out, resp);
  return Done("Reject", out.status());
}

grpc::Status RegistryServiceImpl::SetAlias(grpc::ServerContext* ctx,
                                           const v1::SetAliasRequest* req, v1::Alias* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kEditor, "SetAlias");
  REGISTRY_CHECK("SetAlias", CheckName(req->model(), "model"));
  REGISTRY_CHECK("SetAlias", CheckName(req->alias(), "alias"));
  absl::StatusOr<AliasRecord> out =
      registry_->SetAlias(*who, req->model(), req->alias(), req->version(), req->reason());
  if (out.ok()) {
    resp->set_name(out->name);
    resp->set_model(out->model);
    resp->set_version(out->version);
    resp->set_updated_at_micros(out->updated_at_micros);
    resp->set_updated_by(out->updated_by);
  }
  return Done("SetAlias", out.status());
}

grpc::Status RegistryServiceImpl::DeleteAlias(grpc::ServerContext* ctx,
                                              const v1::DeleteAliasRequest* req,
                                              v1::DeleteAliasResponse* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kEditor, "DeleteAlias");
  REGISTRY_CHECK("DeleteAlias", CheckName(req->model(), "model"));
  REGISTRY_CHECK("DeleteAlias", CheckName(req->alias(), "alias"));
  absl::StatusOr<int64_t> out =
      registry_->DeleteAlias(*who, req->model(), req->alias(), req->reason());
  if (out.ok()) resp->set_previous_version(*out);
  return Done("DeleteAlias", out.status());
}

grpc::Status RegistryServiceImpl::GetAuditLog(grpc::ServerContext* ctx,
                                              const v1::GetAuditLogRequest* req,
                                              v1::GetAuditLogResponse* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "GetAuditLog");
  AuditFilter f;
  if (!req->model().empty()) REGISTRY_CHECK("GetAuditLog", CheckName(req->model(), "model"));
  f.model = req->model();
  f.version = req->version();
  for (int t : req->event_types()) f.event_types.push_back(t);
  f.principal = req->principal();
  f.start_micros = req->time_range().start_micros();
  f.end_micros = req->time_range().end_micros();
  if (f.end_micros != 0 && f.start_micros > f.end_micros) {
    return Done("GetAuditLog", absl::InvalidArgumentError("time_range: start after end"));
  }
  if (req->has_production_at_micros() && req->model().empty()) {
    return Done("GetAuditLog", absl::InvalidArgumentError("production_at_micros needs model"));
  }
  f.newest_first = req->newest_first();
  if (!req->page().page_token().empty()) {
    absl::StatusOr<std::string> t = DecodeToken(req->page().page_token());
    if (!t.ok() || !absl::SimpleAtoi(*t, &f.after_sequence)) {
      return Done("GetAuditLog", absl::InvalidArgumentError("page.page_token: malformed"));
    }
  }
  const int size = PageSize(req->page().page_size());
  f.limit = size + 1;
  absl::StatusOr<std::vector<AuditEntry>> out = registry_->ReadAudit(f);
  if (!out.ok()) return Done("GetAuditLog", out.status());
  for (size_t i = 0; i < out->size() && static_cast<int>(i) < size; ++i) {
    AuditToProto((*out)[i], resp->add_entries());
  }
  if (static_cast<int>(out->size()) > size) {
    resp->set_next_page_token(EncodeToken(absl::StrCat((*out)[size - 1].sequence)));
  }
  if (req->has_production_at_micros()) {
    absl::StatusOr<ProductionAt> p =
        registry_->ProductionAtTime(req->model(), req->production_at_micros());
    if (!p.ok()) return Done("GetAuditLog", p.status());
    v1::ProductionAtTime* pa = resp->mutable_production_at();
    pa->set_at_micros(req->production_at_micros());
    pa->set_version(p->version);
    pa->set_since_micros(p->since_micros);
    pa->set_until_micros(p->until_micros);
    pa->set_entered_sequence(p->entered_sequence);
    pa->set_left_sequence(p->left_sequence);
  }
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::VerifyAuditLog(grpc::ServerContext* ctx,
                                                 const v1::VerifyAuditLogRequest* req,
                                                 v1::VerifyAuditLogResponse* resp) {
  REGISTRY_AUTHORIZE(who, ctx, Role::kViewer, "VerifyAuditLog");
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<AuditVerifyResult> out =
      registry_->VerifyAudit(req->from_sequence(), req->to_sequence());
  if (!out.ok()) return Done("VerifyAuditLog", out.status());
  resp->set_ok(out->ok);
  resp->set_entries_checked(out->entries_checked);
  resp->set_first_broken_sequence(out->first_broken_sequence);
  resp->set_break_kind(static_cast<v1::AuditBreak>(static_cast<int>(out->break_kind)));
  resp->set_expected_hash(out->expected_hash);
  resp->set_actual_hash(out->actual_hash);
  resp->set_head_hash(out->head_hash);
  resp->set_duration_micros(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count());
  return grpc::Status::OK;
}

}  // namespace mlops::registry
