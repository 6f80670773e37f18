#pragma once
// OnlineServer: GetOnlineFeatures from this replica's memory (OnlineViews).
// The hot path takes one atomic catalog load, one look-up of the request's
// shape in a small plan cache, hash probes, and writes the response's wire
// format directly (online_wire.h): no message per value. Postgres is
// consulted only to tell an unknown view (NOT_FOUND) from one not loaded yet
// (FAILED_PRECONDITION), i.e. on the error path, which the service runs off
// gRPC's threads (see GetSerialized's `deferred`). TTL is judged at the
// request time from each entity's last event time. Thread-safe.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "mlops/features/v1/features.pb.h"
#include "services/features/metrics.h"
#include "services/features/online_store.h"
#include "services/features/view_registry.h"

namespace mlops::features {

class OnlineServer {
 public:
  OnlineServer(const OnlineViews* online, const ViewRegistry* views, FeaturesMetrics* metrics,
               int max_entities);
  ~OnlineServer();

  // The response, serialized: the canonical protobuf encoding of a
  // GetOnlineFeaturesResponse (byte for byte what SerializeAsString gives for
  // the same message). Errors: InvalidArgument, NotFound,
  // FailedPrecondition as the proto documents.
  // With `deferred` given, the registry (Postgres) is never read: when the
  // answer needs it (a ref names a view not loaded here), the call returns
  // Unavailable at once with *deferred = true, and the caller asks again
  // with deferred == nullptr off its serving thread (OnlineSlowPath).
  absl::StatusOr<std::string> GetSerialized(const v1::GetOnlineFeaturesRequest& req,
                                            bool* deferred = nullptr) const;

  // The same response as a message (GetSerialized, parsed): for in-process
  // callers and tests. On error `resp` is left unchanged.
  absl::Status Get(const v1::GetOnlineFeaturesRequest& req,
                   v1::GetOnlineFeaturesResponse* resp) const;

 private:
  // A request shape (refs + entity columns) resolved against one catalog.
  struct Plan;

  // Small cache of plans by request shape, each valid for the catalog it was
  // resolved in. Thread-safe: a mutex held for a hash look-up.
  class PlanCache {
   public:
    std::shared_ptr<const Plan> Find(const std::string& shape,
                                     const std::shared_ptr<const OnlineCatalog>& catalog) const;
    void Put(std::string shape, std::shared_ptr<const Plan> plan);

   private:
    static constexpr size_t kMaxEntries = 256;
    mutable absl::Mutex mu_;
    absl::flat_hash_map<std::string, std::shared_ptr<const Plan>> plans_ ABSL_GUARDED_BY(mu_);
  };

  absl::StatusOr<std::shared_ptr<const Plan>> PlanFor(
      const v1::GetOnlineFeaturesRequest& req,
      const std::shared_ptr<const OnlineCatalog>& catalog, bool* deferred) const;
  absl::StatusOr<std::shared_ptr<const Plan>> BuildPlan(
      const v1::GetOnlineFeaturesRequest& req,
      const std::shared_ptr<const OnlineCatalog>& catalog, bool* deferred) const;
  absl::Status CheckRows(const v1::GetOnlineFeaturesRequest& req) const;

  const OnlineViews* const online_;
  const ViewRegistry* const views_;
  FeaturesMetrics* const metrics_;
  const int max_entities_;
  mutable PlanCache plans_;
};

}  // namespace mlops::features
