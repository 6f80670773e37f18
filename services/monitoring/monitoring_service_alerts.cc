// MonitoringServiceImpl: ListAlerts, GetAlert, WatchAlerts.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/auth/token.h"
#include "common/status/status_macros.h"
#include "services/ingestion/names.h"
#include "services/monitoring/monitoring_service.h"

namespace mlops::monitoring {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
// How often a quiet WatchAlerts stream checks for cancellation.
constexpr absl::Duration kWatchPoll = absl::Milliseconds(250);

bool Matches(const v1::WatchAlertsRequest& f, const v1::Alert& a) {
  return (f.model().empty() || a.model() == f.model()) && a.severity() >= f.min_severity();
}

}  // namespace

absl::Status MonitoringServiceImpl::DoListAlerts(const v1::ListAlertsRequest& req,
                                                 v1::ListAlertsResponse* resp) {
  AlertQuery q;
  if (!req.model().empty()) MLOPS_RETURN_IF_ERROR(ingestion::ValidateName("model", req.model()));
  if (!req.policy().empty()) {
    MLOPS_RETURN_IF_ERROR(ingestion::ValidateName("policy", req.policy()));
  }
  if (req.version() < 0) return absl::InvalidArgumentError("version: negative");
  if (req.range().end_micros() != 0 && req.range().start_micros() > req.range().end_micros()) {
    return absl::InvalidArgumentError("range: start_micros after end_micros");
  }
  for (int i = 0; i < req.states_size(); ++i) {
    if (req.states(i) == v1::ALERT_STATE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("states[", i, "]: unspecified"));
    }
    q.states.push_back(req.states(i));
  }
  if (!req.page().page_token().empty()) {
    q.before_number = AlertNumber(req.page().page_token());
    if (q.before_number == 0) {
      return absl::InvalidArgumentError("page.page_token: not a token of this list");
    }
  }
  int size = req.page().page_size();
  if (size <= 0) size = kDefaultPageSize;
  if (size > kMaxPageSize) size = kMaxPageSize;
  q.model = req.model();
  q.version = req.version();
  q.policy = req.policy();
  q.min_severity = req.min_severity();
  q.active_from_micros = req.range().start_micros();
  q.active_to_micros = req.range().end_micros();
  q.limit = size + 1;
  MLOPS_ASSIGN_OR_RETURN(std::vector<StoredAlert> alerts, store_->ListAlerts(q));
  for (size_t i = 0; i < alerts.size() && static_cast<int>(i) < size; ++i) {
    if (!resp->add_alerts()->ParseFromString(alerts[i].alert)) {
      return absl::InternalError("stored alert does not parse");
    }
  }
  if (static_cast<int>(alerts.size()) > size) {
    resp->set_next_page_token(AlertId(alerts[static_cast<size_t>(size) - 1].number));
  }
  return absl::OkStatus();
}

grpc::Status MonitoringServiceImpl::ListAlerts(grpc::ServerContext* ctx,
                                               const v1::ListAlertsRequest* req,
                                               v1::ListAlertsResponse* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Reply("ListAlerts", who.status());
  return Reply("ListAlerts", DoListAlerts(*req, resp));
}

absl::Status MonitoringServiceImpl::DoGetAlert(const v1::GetAlertRequest& req, v1::Alert* resp) {
  const absl::Status not_found = absl::NotFoundError(absl::StrCat("no alert \"", req.id(), "\""));
  const int64_t number = AlertNumber(req.id());
  if (number == 0) return not_found;
  // An open alert's latest value lives in memory.
  for (v1::Alert& a : alerts_->OpenAlerts()) {
    if (a.id() == req.id()) {
      *resp = std::move(a);
      return absl::OkStatus();
    }
  }
  MLOPS_ASSIGN_OR_RETURN(std::optional<StoredAlert> stored, store_->GetAlert(number));
  if (!stored.has_value()) return not_found;
  if (!resp->ParseFromString(stored->alert)) return absl::InternalError("stored alert does not parse");
  return absl::OkStatus();
}

grpc::Status MonitoringServiceImpl::GetAlert(grpc::ServerContext* ctx,
                                             const v1::GetAlertRequest* req, v1::Alert* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Reply("GetAlert", who.status());
  return Reply("GetAlert", DoGetAlert(*req, resp));
}

grpc::Status MonitoringServiceImpl::WatchAlerts(
    grpc::ServerContext* ctx, const v1::WatchAlertsRequest* req,
    grpc::ServerWriter<v1::WatchAlertsResponse>* writer) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Reply("WatchAlerts", who.status());
  if (!req->model().empty()) {
    absl::Status s = ingestion::ValidateName("model", req->model());
    if (!s.ok()) return Reply("WatchAlerts", s);
  }
  // Subscribe before the snapshot: a change in between is sent twice at
  // worst, never lost.
  std::shared_ptr<AlertHub::Subscription> sub = hub_.Subscribe();
  struct Unsubscribe {
    AlertHub* hub;
    std::shared_ptr<AlertHub::Subscription> sub;
    ~Unsubscribe() { hub->Unsubscribe(sub); }
  } unsubscribe{&hub_, sub};
  auto send = [&](v1::AlertUpdateKind kind, const v1::Alert* alert) {
    v1::WatchAlertsResponse r;
    r.set_kind(kind);
    if (alert != nullptr) *r.mutable_alert() = *alert;
    r.set_at_micros(Now());
    return writer->Write(r);
  };
  for (const v1::Alert& a : alerts_->OpenAlerts()) {
    if (Matches(*req, a) && !send(v1::ALERT_UPDATE_KIND_SNAPSHOT, &a)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
    }
  }
  if (!send(v1::ALERT_UPDATE_KIND_SNAPSHOT_COMPLETE, nullptr)) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
  }
  absl::Time last_write = absl::Now();
  const absl::Duration heartbeat = absl::Microseconds(options_.watch_heartbeat_micros);
  // Ends on cancel, drain, a failed write or overflow; each turn waits at
  // most kWatchPoll.
  while (!ctx->IsCancelled()) {
    v1::Alert alert;
    switch (hub_.Next(sub.get(), kWatchPoll, &alert)) {
      case AlertHub::WaitResult::kClosed:
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server draining: reconnect");
      case AlertHub::WaitResult::kOverflowed:
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "watcher fell behind: reconnect");
      case AlertHub::WaitResult::kAlert:
        if (!Matches(*req, alert)) continue;
        if (!send(v1::ALERT_UPDATE_KIND_CHANGE, &alert)) {
          return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
        }
        last_write = absl::Now();
        break;
      case AlertHub::WaitResult::kTimeout:
        if (absl::Now() - last_write >= heartbeat) {
          if (!send(v1::ALERT_UPDATE_KIND_HEARTBEAT, nullptr)) {
            return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
          }
          last_write = absl::Now();
        }
        break;
    }
  }
  return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
}

}  // namespace mlops::monitoring
