// MonitoringServiceImpl: configuration and alert-policy RPCs.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"
#include "services/ingestion/names.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/proto_convert.h"

namespace mlops::monitoring {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

// Page tokens of ListAlertPolicies: "<model>/<name>" of the last item.
absl::Status ParsePolicyToken(const std::string& token, std::string* model, std::string* name) {
  if (token.empty()) return absl::OkStatus();
  std::vector<std::string> parts = absl::StrSplit(token, '/');
  if (parts.size() != 2 || !ingestion::IsValidName(parts[0]) || !ingestion::IsValidName(parts[1])) {
    return absl::InvalidArgumentError("page.page_token: not a token of this list");
  }
  *model = parts[0];
  *name = parts[1];
  return absl::OkStatus();
}

}  // namespace

grpc::Status MonitoringServiceImpl::SetMonitoringConfig(grpc::ServerContext* ctx,
                                                        const v1::SetMonitoringConfigRequest* req,
                                                        v1::MonitoringConfig* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kEditor);
  if (!who.ok()) return Reply("SetMonitoringConfig", who.status());
  absl::Status s = ValidateMonitoringConfig(req->config());
  if (!s.ok()) return Reply("SetMonitoringConfig", s);
  v1::MonitoringConfig config = req->config();
  config.set_updated_at_micros(Now());
  config.set_updated_by(who->name);
  s = store_->PutConfig(config.model(), config.SerializeAsString(), config.updated_at_micros());
  if (!s.ok()) return Reply("SetMonitoringConfig", s);
  {
    absl::MutexLock lock(&mu_);
    configs_[config.model()] = config;
  }
  *resp = EffectiveConfig(config);
  return grpc::Status::OK;
}

grpc::Status MonitoringServiceImpl::GetMonitoringConfig(grpc::ServerContext* ctx,
                                                        const v1::GetMonitoringConfigRequest* req,
                                                        v1::MonitoringConfig* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Reply("GetMonitoringConfig", who.status());
  absl::Status s = ingestion::ValidateName("model", req->model());
  if (!s.ok()) return Reply("GetMonitoringConfig", s);
  absl::StatusOr<v1::MonitoringConfig> config = Config(req->model());
  if (!config.ok()) return Reply("GetMonitoringConfig", config.status());
  *resp = EffectiveConfig(*config);
  return grpc::Status::OK;
}

grpc::Status MonitoringServiceImpl::SetAlertPolicy(grpc::ServerContext* ctx,
                                                   const v1::SetAlertPolicyRequest* req,
                                                   v1::AlertPolicy* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kDeployer);
  if (!who.ok()) return Reply("SetAlertPolicy", who.status());
  absl::Status s = ValidateAlertPolicy(req->policy());
  if (!s.ok()) return Reply("SetAlertPolicy", s);
  v1::AlertPolicy policy = req->policy();
  const int64_t now = Now();
  absl::StatusOr<std::optional<StoredPolicy>> previous =
      store_->GetPolicy(policy.model(), policy.name());
  if (!previous.ok()) return Reply("SetAlertPolicy", previous.status());
  int64_t created = now;
  v1::AlertPolicy old;
  if (previous->has_value() && old.ParseFromString((*previous)->policy)) {
    created = old.created_at_micros();
  }
  policy.set_created_at_micros(created);
  policy.set_updated_at_micros(now);
  policy.set_updated_by(who->name);
  s = store_->PutPolicy({policy.model(), policy.name(), policy.SerializeAsString()}, now);
  if (!s.ok()) return Reply("SetAlertPolicy", s);
  if (previous->has_value()) {
    absl::StatusOr<int> resolved = alerts_->PolicyReplaced(old, policy);
    if (!resolved.ok()) return Reply("SetAlertPolicy", resolved.status());
  }
  *resp = std::move(policy);
  return grpc::Status::OK;
}

grpc::Status MonitoringServiceImpl::ListAlertPolicies(grpc::ServerContext* ctx,
                                                      const v1::ListAlertPoliciesRequest* req,
                                                      v1::ListAlertPoliciesResponse* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Reply("ListAlertPolicies", who.status());
  if (!req->model().empty()) {
    absl::Status s = ingestion::ValidateName("model", req->model());
    if (!s.ok()) return Reply("ListAlertPolicies", s);
  }
  std::string after_model;
  std::string after_name;
  absl::Status s = ParsePolicyToken(req->page().page_token(), &after_model, &after_name);
  if (!s.ok()) return Reply("ListAlertPolicies", s);
  int size = req->page().page_size();
  if (size <= 0) size = kDefaultPageSize;
  if (size > kMaxPageSize) size = kMaxPageSize;
  absl::StatusOr<std::vector<StoredPolicy>> page =
      store_->ListPolicies(req->model(), after_model, after_name, size + 1);
  if (!page.ok()) return Reply("ListAlertPolicies", page.status());
  for (size_t i = 0; i < page->size() && static_cast<int>(i) < size; ++i) {
    if (!resp->add_policies()->ParseFromString((*page)[i].policy)) {
      return Reply("ListAlertPolicies", absl::InternalError("stored policy does not parse"));
    }
  }
  if (static_cast<int>(page->size()) > size) {
    const StoredPolicy& last = (*page)[static_cast<size_t>(size) - 1];
    resp->set_next_page_token(absl::StrCat(last.model, "/", last.name));
  }
  return grpc::Status::OK;
}

grpc::Status MonitoringServiceImpl::DeleteAlertPolicy(grpc::ServerContext* ctx,
                                                      const v1::DeleteAlertPolicyRequest* req,
                                                      v1::DeleteAlertPolicyResponse* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kDeployer);
  if (!who.ok()) return Reply("DeleteAlertPolicy", who.status());
  absl::StatusOr<bool> deleted = store_->DeletePolicy(req->model(), req->name());
  if (!deleted.ok()) return Reply("DeleteAlertPolicy", deleted.status());
  if (!*deleted) {
    return Reply("DeleteAlertPolicy",
                 absl::NotFoundError(absl::StrCat("no alert policy \"", req->name(),
                                                  "\" for model \"", req->model(), "\"")));
  }
  absl::StatusOr<int> resolved = alerts_->PolicyDeleted(req->model(), req->name());
  if (!resolved.ok()) return Reply("DeleteAlertPolicy", resolved.status());
  resp->set_resolved_alerts(*resolved);
  return grpc::Status::OK;
}

}  // namespace mlops::monitoring
