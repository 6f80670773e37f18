#pragma once
// The feature service's metric families (created once, injected; thread-safe
// as prometheus-cpp is). A null registry makes every method a no-op.
// Labels: `view` (a view name: bounded by the registered views) and
// `result` (known / unknown).

#include <cstdint>
#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace mlops::features {

class FeaturesMetrics {
 public:
  explicit FeaturesMetrics(prometheus::Registry* registry);

  // mlops_features_online_latency_seconds and
  // mlops_features_online_entities_per_request, per GetOnlineFeatures call.
  void OnlineRequest(double seconds, int64_t entities);
  // mlops_features_online_entity_lookups_total{result=known|unknown}: one
  // per (entity row, view); the unknown-entity rate is unknown / total.
  void EntityLookups(int64_t known, int64_t unknown);
  // mlops_features_materialization_lag_seconds{view}: per successful run,
  // seconds from the source dataset version's creation to the online store
  // updated with it (finished_at - the version's created_at).
  void MaterializationLag(const std::string& view, double seconds);
  // mlops_features_historical_rows_total: output rows of historical
  // retrieval (rate() gives rows/s).
  void HistoricalRows(int64_t rows);

 private:
  prometheus::Histogram* online_latency_ = nullptr;
  prometheus::Histogram* entities_ = nullptr;
  prometheus::Counter* known_ = nullptr;
  prometheus::Counter* unknown_ = nullptr;
  prometheus::Family<prometheus::Gauge>* lag_ = nullptr;
  prometheus::Counter* historical_rows_ = nullptr;
};

}  // namespace mlops::features
