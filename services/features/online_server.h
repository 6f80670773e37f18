#pragma once
// OnlineServer: GetOnlineFeatures from this replica's memory (OnlineViews).
// The hot path takes one atomic catalog load and hash probes; Postgres is
// consulted only to tell an unknown view (NOT_FOUND) from one not loaded yet
// (FAILED_PRECONDITION), i.e. on the error path. TTL is judged at the
// request time from each entity's last event time. Thread-safe.

#include <cstdint>

#include "absl/status/statusor.h"
#include "mlops/features/v1/features.pb.h"
#include "services/features/metrics.h"
#include "services/features/online_store.h"
#include "services/features/view_registry.h"

namespace mlops::features {

class OnlineServer {
 public:
  OnlineServer(const OnlineViews* online, const ViewRegistry* views, FeaturesMetrics* metrics,
               int max_entities)
      : online_(online), views_(views), metrics_(metrics), max_entities_(max_entities) {}

  // Fills `resp` (empty; best on an arena: the service allocates the
  // response of each call on one, so the thousands of values of a large
  // response cost no malloc each). On error `resp` is left partial.
  absl::Status Get(const v1::GetOnlineFeaturesRequest& req,
                   v1::GetOnlineFeaturesResponse* resp) const;

 private:
  const OnlineViews* const online_;
  const ViewRegistry* const views_;
  FeaturesMetrics* const metrics_;
  const int max_entities_;
};

}  // namespace mlops::features
