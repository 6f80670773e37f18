#pragma once
// ViewRegistry: registration, versioning and lookup of feature views.
// Definitions are validated against the source dataset's schema (from the
// ingestion service) and stored through a FeatureStore; an identical
// definition returns the newest version, a changed one creates the next.
// Thread-safe; owns nothing it is given.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "mlops/features/v1/features.pb.h"
#include "services/features/feature_store.h"
#include "services/features/feature_view.h"
#include "services/features/ingestion_client.h"

namespace mlops::features {

// A stored view version with its domain definition.
struct ResolvedView {
  ::mlops::features::v1::FeatureView view;
  FeatureViewDefinition definition;
};

class ViewRegistry {
 public:
  using Clock = std::function<int64_t()>;  // micros since the epoch
  ViewRegistry(FeatureStore* store, const IngestionClient* ingestion, Clock clock)
      : store_(store), ingestion_(ingestion), clock_(std::move(clock)) {}

  // The view version now matching `spec`, and whether this call created it.
  absl::StatusOr<std::pair<v1::FeatureView, bool>> Register(const v1::FeatureViewSpec& spec,
                                                            const std::string& principal);

  // One version (0 = newest). InvalidArgument for a bad name or negative
  // version, NotFound when absent.
  absl::StatusOr<ResolvedView> Get(const std::string& name, int64_t version) const;

  absl::StatusOr<v1::ListFeatureViewsResponse> List(const v1::ListFeatureViewsRequest& req) const;

  int64_t NowMicros() const { return clock_(); }

 private:
  FeatureStore* const store_;
  const IngestionClient* const ingestion_;
  const Clock clock_;
};

}  // namespace mlops::features
