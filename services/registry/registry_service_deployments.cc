// RegistryServiceImpl: endpoints and WatchDeployments (see registry_service.h).
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "google/protobuf/util/json_util.h"
#include "services/registry/manual_rollout_request.h"
#include "services/registry/registry_convert.h"
#include "services/registry/registry_service.h"
#include "services/registry/rollout_spec_check.h"

namespace mlops::registry {
namespace {

constexpr absl::Duration kHeartbeat = absl::Seconds(5);

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

grpc::Status Fail(const char* method, const absl::Status& s) {
  if (s.code() == absl::StatusCode::kInternal || s.code() == absl::StatusCode::kUnavailable) {
    LogWarn("registry_rpc_failed", {{"method", method}, {"status", s.ToString()}});
  }
  return ToGrpcStatus(s);
}

void EndpointToProto(const EndpointRecord& e, v1::EndpointConfig* out) {
  out->set_endpoint(e.endpoint);
  out->set_model(e.model);
  out->mutable_promotion_rollout()->ParseFromString(e.promotion_rollout);
  out->set_description(e.description);
  out->set_updated_at_micros(e.updated_at_micros);
  out->set_updated_by(e.updated_by);
}

void ModelDeploymentToProto(const ModelRecord& m, v1::ModelDeployment* out) {
  out->set_model(m.name);
  out->set_production_version(m.production_version);
  for (int64_t v : m.staging_versions) out->add_staging_versions(v);
  for (const AliasRecord& a : m.aliases) {
    v1::Alias* pa = out->add_aliases();
    pa->set_name(a.name);
    pa->set_model(a.model);
    pa->set_version(a.version);
    pa->set_updated_at_micros(a.updated_at_micros);
    pa->set_updated_by(a.updated_by);
  }
}

void ServedVersionToProto(const VersionRecord& v, v1::ServedVersionRole role,
                          v1::EndpointDeployment* out) {
  v1::ModelVersion mv;
  VersionToProto(v, &mv);
  v1::ServedVersion* sv = out->add_versions();
  sv->set_version(mv.version());
  sv->set_role(role);
  sv->set_stage(mv.stage());
  sv->set_flavor(mv.flavor());
  *sv->mutable_artifact() = mv.artifact();
  *sv->mutable_signature() = mv.signature();
}

void RolloutToProto(const RolloutRecord& r, v1::DeploymentRollout* out) {
  out->set_rollout_id(r.rollout_id);
  out->set_origin(static_cast<v1::RolloutOrigin>(static_cast<int>(r.origin)));
  out->mutable_spec()->ParseFromString(r.spec);
  out->set_primary_version(r.primary_version);
  out->set_candidate_version(r.candidate_version);
  out->set_state(static_cast<v1::RolloutState>(static_cast<int>(r.state)));
  out->set_current_step(r.current_step);
  out->set_transition_request_id(r.transition_request_id);
  out->set_started_by(r.started_by);
  out->set_started_at_micros(r.started_at_micros);
  out->set_updated_at_micros(r.updated_at_micros);
  out->set_reason(r.reason);
}

// During a rollout its primary (for a promotion: the previous production
// version) is the PRIMARY and its candidate (for a promotion: the new
// production version; a manual shadow may run a STAGING one) the CANDIDATE;
// otherwise the production version is the PRIMARY.
void EndpointStateToProto(const EndpointState& s, int64_t generation,
                          v1::EndpointDeployment* out) {
  out->set_endpoint(s.config.endpoint);
  out->set_model(s.config.model);
  out->mutable_promotion_rollout()->ParseFromString(s.config.promotion_rollout);
  out->set_generation(generation);
  if (s.rollout_primary.has_value() && s.rollout_candidate.has_value()) {
    ServedVersionToProto(*s.rollout_primary, v1::SERVED_VERSION_ROLE_PRIMARY, out);
    ServedVersionToProto(*s.rollout_candidate, v1::SERVED_VERSION_ROLE_CANDIDATE, out);
  } else if (s.production.has_value()) {
    ServedVersionToProto(*s.production, v1::SERVED_VERSION_ROLE_PRIMARY, out);
  }
  if (s.rollout.has_value()) RolloutToProto(*s.rollout, out->mutable_rollout());
}

v1::DeploymentChangeKind ChangeKind(int event_type) {
  switch (event_type) {
    case 6: return v1::DEPLOYMENT_CHANGE_KIND_STAGE_CHANGED;
    case 10: return v1::DEPLOYMENT_CHANGE_KIND_ALIAS_SET;
    case 11: return v1::DEPLOYMENT_CHANGE_KIND_ALIAS_DELETED;
    case 13: return v1::DEPLOYMENT_CHANGE_KIND_ENDPOINT_CONFIG_SET;
    default: return v1::DEPLOYMENT_CHANGE_KIND_UNSPECIFIED;
  }
}

}  // namespace

grpc::Status RegistryServiceImpl::SetEndpointConfig(grpc::ServerContext* ctx,
                                                    const v1::SetEndpointConfigRequest* req,
                                                    v1::EndpointConfig* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kDeployer);
  if (!who.ok()) return Fail("SetEndpointConfig", who.status());
  const v1::EndpointConfig& c = req->config();
  for (absl::Status s : {CheckName(c.endpoint(), "config.endpoint"),
                         CheckName(c.model(), "config.model"),
                         CheckRolloutSpec(c.promotion_rollout(), "config.promotion_rollout")}) {
    if (!s.ok()) return Fail("SetEndpointConfig", s);
  }
  EndpointRecord e;
  e.endpoint = c.endpoint();
  e.model = c.model();
  c.promotion_rollout().SerializeToString(&e.promotion_rollout);
  e.description = c.description();
  absl::StatusOr<EndpointRecord> out = registry_->SetEndpoint(*who, std::move(e), req->reason());
  if (out.ok()) EndpointToProto(*out, resp);
  return Fail("SetEndpointConfig", out.status());
}

grpc::Status RegistryServiceImpl::GetEndpointConfig(grpc::ServerContext* ctx,
                                                    const v1::GetEndpointConfigRequest* req,
                                                    v1::EndpointConfig* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Fail("GetEndpointConfig", who.status());
  if (absl::Status s = CheckName(req->endpoint(), "endpoint"); !s.ok()) {
    return Fail("GetEndpointConfig", s);
  }
  absl::StatusOr<EndpointRecord> out = registry_->GetEndpoint(req->endpoint());
  if (out.ok()) EndpointToProto(*out, resp);
  return Fail("GetEndpointConfig", out.status());
}

grpc::Status RegistryServiceImpl::ListEndpointConfigs(grpc::ServerContext* ctx,
                                                      const v1::ListEndpointConfigsRequest* req,
                                                      v1::ListEndpointConfigsResponse* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Fail("ListEndpointConfigs", who.status());
  std::string after;
  if (!req->page().page_token().empty()) {
    absl::StatusOr<std::string> t = DecodeToken(req->page().page_token());
    if (!t.ok()) return Fail("ListEndpointConfigs", t.status());
    after = *t;
  }
  const int size = PageSize(req->page().page_size());
  absl::StatusOr<std::vector<EndpointRecord>> out =
      registry_->ListEndpoints(req->model(), after, size + 1);
  if (!out.ok()) return Fail("ListEndpointConfigs", out.status());
  for (size_t i = 0; i < out->size() && static_cast<int>(i) < size; ++i) {
    EndpointToProto((*out)[i], resp->add_configs());
  }
  if (static_cast<int>(out->size()) > size) {
    resp->set_next_page_token(EncodeToken((*out)[size - 1].endpoint));
  }
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::WatchDeployments(
    grpc::ServerContext* ctx, const v1::WatchDeploymentsRequest* req,
    grpc::ServerWriter<v1::WatchDeploymentsResponse>* writer) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Fail("WatchDeployments", who.status());
  if (feed_ == nullptr || notifier_ == nullptr) {
    return Fail("WatchDeployments", absl::UnimplementedError("no deployment feed configured"));
  }
  WatchFilter filter;
  for (const std::string& e : req->endpoints()) {
    if (absl::Status s = CheckName(e, "endpoints"); !s.ok()) return Fail("WatchDeployments", s);
    filter.endpoints.push_back(e);
  }
  for (const std::string& m : req->models()) {
    if (absl::Status s = CheckName(m, "models"); !s.ok()) return Fail("WatchDeployments", s);
    filter.models.push_back(m);
  }
  uint64_t seen = notifier_->version();
  absl::StatusOr<DeploymentSnapshot> snap = feed_->Snapshot(filter);
  if (!snap.ok()) return Fail("WatchDeployments", snap.status());
  LogInfo("registry_watch_started", {{"watcher", req->watcher_id()},
                                     {"principal", who->name},
                                     {"head", absl::StrCat(snap->head)}});
  v1::WatchDeploymentsResponse msg;
  auto send = [&](v1::WatchDeploymentsResponse& m) {
    m.set_at_micros(NowMicros());
    return writer->Write(m);
  };
  for (const ModelRecord& m : snap->models) {
    msg.Clear();
    msg.set_kind(v1::DEPLOYMENT_UPDATE_KIND_SNAPSHOT);
    msg.set_sequence(snap->head);
    ModelDeploymentToProto(m, msg.mutable_model());
    if (!send(msg)) return grpc::Status::CANCELLED;
  }
  for (const EndpointState& e : snap->endpoints) {
    msg.Clear();
    msg.set_kind(v1::DEPLOYMENT_UPDATE_KIND_SNAPSHOT);
    msg.set_sequence(snap->head);
    EndpointStateToProto(e, snap->head, msg.mutable_endpoint());
    if (!send(msg)) return grpc::Status::CANCELLED;
  }
  msg.Clear();
  msg.set_kind(v1::DEPLOYMENT_UPDATE_KIND_SNAPSHOT_COMPLETE);
  msg.set_sequence(snap->head);
  if (!send(msg)) return grpc::Status::CANCELLED;

  int64_t last = snap->head;
  absl::Time last_sent = absl::Now();
  // Ends on client cancel, a broken stream, or drain (notifier shut down).
  while (!ctx->IsCancelled()) {
    if (!notifier_->Wait(seen, poll_interval_)) {
      return Fail("WatchDeployments",
                  absl::UnavailableError("registry is draining: reconnect elsewhere"));
    }
    seen = notifier_->version();
    absl::StatusOr<std::vector<DeploymentChangeEvent>> changes = feed_->ChangesAfter(filter, last);
    if (!changes.ok()) return Fail("WatchDeployments", changes.status());
    for (const DeploymentChangeEvent& ev : *changes) {
      last = ev.entry.sequence;
      v1::DeploymentChange change;
      change.set_kind(ChangeKind(ev.entry.event_type));
      change.set_model(ev.entry.model);
      change.set_version(ev.entry.version);
      change.set_principal(ev.entry.principal);
      change.set_reason(ev.entry.reason);
      change.set_audit_sequence(ev.entry.sequence);
      if (ev.entry.event_type == 6) {
        for (Stage s : {Stage::kNone, Stage::kStaging, Stage::kProduction, Stage::kArchived}) {
          const std::string json = absl::StrCat("{\"stage\":\"", StageName(s), "\"}");
          if (ev.entry.before_json == json) change.set_from_stage(StageToProto(s));
          if (ev.entry.after_json == json) change.set_to_stage(StageToProto(s));
        }
      }
      if (ev.model.has_value()) {
        msg.Clear();
        msg.set_kind(v1::DEPLOYMENT_UPDATE_KIND_CHANGE);
        msg.set_sequence(last);
        ModelDeploymentToProto(*ev.model, msg.mutable_model());
        *msg.mutable_change() = change;
        if (!send(msg)) return grpc::Status::CANCELLED;
        last_sent = absl::Now();
      }
      for (const EndpointState& e : ev.endpoints) {
        msg.Clear();
        msg.set_kind(v1::DEPLOYMENT_UPDATE_KIND_CHANGE);
        msg.set_sequence(last);
        EndpointStateToProto(e, last, msg.mutable_endpoint());
        *msg.mutable_change() = change;
        if (!send(msg)) return grpc::Status::CANCELLED;
        last_sent = absl::Now();
      }
    }
    if (absl::Now() - last_sent >= kHeartbeat) {
      msg.Clear();
      msg.set_kind(v1::DEPLOYMENT_UPDATE_KIND_HEARTBEAT);
      msg.set_sequence(last);
      if (!send(msg)) return grpc::Status::CANCELLED;
      last_sent = absl::Now();
    }
  }
  return grpc::Status::CANCELLED;
}

grpc::Status RegistryServiceImpl::RecordDeploymentEvent(
    grpc::ServerContext* ctx, const v1::RecordDeploymentEventRequest* req,
    v1::RecordDeploymentEventResponse* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kDeployer);
  if (!who.ok()) return Fail("RecordDeploymentEvent", who.status());
  if (absl::Status s = CheckName(req->endpoint(), "endpoint"); !s.ok()) {
    return Fail("RecordDeploymentEvent", s);
  }
  if (req->type() == v1::DEPLOYMENT_EVENT_TYPE_UNSPECIFIED) {
    return Fail("RecordDeploymentEvent", absl::InvalidArgumentError("type: required"));
  }
  DeploymentEvent event;
  event.endpoint = req->endpoint();
  event.type = static_cast<DeploymentEventType>(static_cast<int>(req->type()));
  event.rollout_id = req->rollout_id();
  event.primary_version = req->primary_version();
  event.candidate_version = req->candidate_version();
  event.step = req->step();
  event.candidate_percent = req->candidate_percent();
  event.reason = req->reason();
  // The report itself (figures, replica, time at the gateway) goes to the audit log.
  v1::RecordDeploymentEventRequest details = *req;
  details.clear_spec();
  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(details, &event.details_json, json);
  absl::StatusOr<DeploymentEventResult> result;
  if (req->type() == v1::DEPLOYMENT_EVENT_TYPE_MANUAL_ROLLOUT) {
    absl::StatusOr<ManualRollout> manual =
        ManualRolloutFromRequest(*registry_, *req, std::move(event.details_json));
    if (!manual.ok()) return Fail("RecordDeploymentEvent", manual.status());
    result = registry_->StartManualRollout(*who, *std::move(manual));
  } else {
    result = registry_->RecordDeploymentEvent(*who, std::move(event));
  }
  if (!result.ok()) return Fail("RecordDeploymentEvent", result.status());
  resp->set_audit_sequence(result->audit_sequence);
  resp->set_duplicate(result->duplicate);
  if (feed_ != nullptr) {
    WatchFilter filter;
    filter.endpoints = {req->endpoint()};
    absl::StatusOr<DeploymentSnapshot> snap = feed_->Snapshot(filter);
    if (snap.ok() && !snap->endpoints.empty()) {
      EndpointStateToProto(snap->endpoints.front(), snap->head, resp->mutable_endpoint());
    }
  }
  return grpc::Status::OK;
}

}  // namespace mlops::registry
