#pragma once
// What WatchDeployments streams, as domain structs: a snapshot of the watched
// models' stages/aliases and endpoints' desired state, then the changes
// recorded in the audit log after it (stage moves, alias moves, endpoint
// configuration, rollout events), each with the complete new state of what it
// concerns.
// The audit sequence is the change sequence, so every registry replica sees
// every committed change. Does not own the store. Thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/registry/registry_store.h"

namespace mlops::registry {

struct WatchFilter {
  std::vector<std::string> endpoints;  // both empty: everything
  std::vector<std::string> models;
};

struct EndpointState {
  EndpointRecord config;
  std::optional<VersionRecord> production;  // none: nothing to serve
  std::optional<RolloutRecord> rollout;     // the current or last rollout
  // While the rollout is PENDING or IN_PROGRESS: the version it moves traffic
  // away from (for a promotion, the previous production version), still to be
  // served, and the version it moves traffic to.
  std::optional<VersionRecord> rollout_primary;
  std::optional<VersionRecord> rollout_candidate;
};

struct DeploymentSnapshot {
  int64_t head = 0;  // audit sequence when the snapshot was taken
  std::vector<ModelRecord> models;
  std::vector<EndpointState> endpoints;
};

struct DeploymentChangeEvent {
  AuditEntry entry;
  std::optional<ModelRecord> model;  // set when a watched model changed
  std::vector<EndpointState> endpoints;
};

class DeploymentFeed {
 public:
  explicit DeploymentFeed(RegistryStore* store) : store_(store) {}

  absl::StatusOr<DeploymentSnapshot> Snapshot(const WatchFilter& filter);
  // Deployment-relevant audit entries with sequence > after (at most
  // `limit`), oldest first, with the watched states they affect. Entries
  // concerning nothing watched come back with no model and no endpoints.
  absl::StatusOr<std::vector<DeploymentChangeEvent>> ChangesAfter(const WatchFilter& filter,
                                                                 int64_t after, int limit = 500);

 private:
  bool WatchesModel(const WatchFilter& f, const std::string& model) const;
  bool WatchesEndpoint(const WatchFilter& f, const EndpointRecord& e) const;
  absl::StatusOr<EndpointState> State(EndpointRecord config);
  absl::StatusOr<std::vector<EndpointRecord>> AllEndpoints(const std::string& model);

  RegistryStore* store_;
};

}  // namespace mlops::registry
