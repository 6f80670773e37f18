#include "services/registry/deployment_feed.h"

#include <algorithm>
#include <set>

#include "common/status/status_macros.h"

namespace mlops::registry {
namespace {

// Audit events that change what a gateway serves or sees.
constexpr int kStageChanged = 6, kAliasSet = 10, kAliasDeleted = 11, kEndpointSet = 13;
constexpr int kFirstRolloutEvent = 14, kLastRolloutEvent = 19;  // ROLLOUT_STARTED .. LOAD_FAILED

bool ConcernsEndpoint(int event_type) {
  return event_type == kEndpointSet ||
         (event_type >= kFirstRolloutEvent && event_type <= kLastRolloutEvent);
}
constexpr int kMaxPages = 10000;  // bounds the listing loops (1000 per page)

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

bool DeploymentFeed::WatchesModel(const WatchFilter& f, const std::string& model) const {
  return (f.models.empty() && f.endpoints.empty()) || Contains(f.models, model);
}

bool DeploymentFeed::WatchesEndpoint(const WatchFilter& f, const EndpointRecord& e) const {
  return (f.models.empty() && f.endpoints.empty()) || Contains(f.endpoints, e.endpoint);
}

absl::StatusOr<EndpointState> DeploymentFeed::State(EndpointRecord config) {
  EndpointState s;
  MLOPS_ASSIGN_OR_RETURN(ModelRecord m, store_->GetModel(config.model));
  if (m.production_version != 0) {
    MLOPS_ASSIGN_OR_RETURN(s.production, store_->GetVersion(m.name, m.production_version));
  }
  MLOPS_ASSIGN_OR_RETURN(s.rollout, store_->GetCurrentRollout(config.endpoint));
  if (s.rollout.has_value() && (s.rollout->state == RolloutState::kPending ||
                                 s.rollout->state == RolloutState::kInProgress)) {
    MLOPS_ASSIGN_OR_RETURN(s.rollout_primary,
                           store_->GetVersion(m.name, s.rollout->primary_version));
    MLOPS_ASSIGN_OR_RETURN(s.rollout_candidate,
                           store_->GetVersion(m.name, s.rollout->candidate_version));
  }
  s.config = std::move(config);
  return s;
}

absl::StatusOr<std::vector<EndpointRecord>> DeploymentFeed::AllEndpoints(
    const std::string& model) {
  std::vector<EndpointRecord> out;
  std::string after;
  for (int page = 0; page < kMaxPages; ++page) {
    MLOPS_ASSIGN_OR_RETURN(std::vector<EndpointRecord> batch,
                           store_->ListEndpoints(model, after, 1000));
    if (batch.empty()) break;
    after = batch.back().endpoint;
    for (EndpointRecord& e : batch) out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<DeploymentSnapshot> DeploymentFeed::Snapshot(const WatchFilter& f) {
  DeploymentSnapshot snap;
  MLOPS_ASSIGN_OR_RETURN(snap.head, store_->AuditHead());
  std::set<std::string> models(f.models.begin(), f.models.end());
  if (f.endpoints.empty() && f.models.empty()) {
    MLOPS_ASSIGN_OR_RETURN(std::vector<EndpointRecord> all, AllEndpoints(""));
    for (EndpointRecord& e : all) {
      MLOPS_ASSIGN_OR_RETURN(EndpointState s, State(std::move(e)));
      snap.endpoints.push_back(std::move(s));
    }
    std::string after;
    for (int page = 0; page < kMaxPages; ++page) {
      MLOPS_ASSIGN_OR_RETURN(std::vector<ModelRecord> batch,
                             store_->ListModels("", after, 1000, {}));
      if (batch.empty()) break;
      after = batch.back().name;
      for (ModelRecord& m : batch) snap.models.push_back(std::move(m));
    }
    return snap;
  }
  for (const std::string& name : f.endpoints) {
    MLOPS_ASSIGN_OR_RETURN(EndpointRecord e, store_->GetEndpoint(name));
    models.insert(e.model);
    MLOPS_ASSIGN_OR_RETURN(EndpointState s, State(std::move(e)));
    snap.endpoints.push_back(std::move(s));
  }
  for (const std::string& name : models) {
    MLOPS_ASSIGN_OR_RETURN(ModelRecord m, store_->GetModel(name));
    snap.models.push_back(std::move(m));
  }
  return snap;
}

absl::StatusOr<std::vector<DeploymentChangeEvent>> DeploymentFeed::ChangesAfter(
    const WatchFilter& f, int64_t after, int limit) {
  AuditFilter af;
  af.event_types = {kStageChanged, kAliasSet, kAliasDeleted, kEndpointSet};
  for (int t = kFirstRolloutEvent; t <= kLastRolloutEvent; ++t) af.event_types.push_back(t);
  af.after_sequence = after;
  af.limit = limit;
  MLOPS_ASSIGN_OR_RETURN(std::vector<AuditEntry> entries, store_->ReadAudit(af));
  std::vector<DeploymentChangeEvent> out;
  for (AuditEntry& entry : entries) {
    DeploymentChangeEvent ev;
    if (ConcernsEndpoint(entry.event_type)) {
      MLOPS_ASSIGN_OR_RETURN(EndpointRecord e, store_->GetEndpoint(entry.endpoint));
      if (WatchesEndpoint(f, e)) {
        MLOPS_ASSIGN_OR_RETURN(EndpointState s, State(std::move(e)));
        ev.endpoints.push_back(std::move(s));
      }
    } else {
      const bool endpoint_filter_model = [&] {
        for (const std::string& name : f.endpoints) {
          absl::StatusOr<EndpointRecord> e = store_->GetEndpoint(name);
          if (e.ok() && e->model == entry.model) return true;
        }
        return false;
      }();
      if (WatchesModel(f, entry.model) || endpoint_filter_model) {
        MLOPS_ASSIGN_OR_RETURN(ev.model, store_->GetModel(entry.model));
      }
      if (entry.event_type == kStageChanged) {
        MLOPS_ASSIGN_OR_RETURN(std::vector<EndpointRecord> eps, AllEndpoints(entry.model));
        for (EndpointRecord& e : eps) {
          if (!WatchesEndpoint(f, e)) continue;
          MLOPS_ASSIGN_OR_RETURN(EndpointState s, State(std::move(e)));
          ev.endpoints.push_back(std::move(s));
        }
      }
    }
    ev.entry = std::move(entry);
    out.push_back(std::move(ev));
  }
  return out;
}

}  // namespace mlops::registry
