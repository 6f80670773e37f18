#include "services/features/metrics.h"

namespace mlops::features {

FeaturesMetrics::FeaturesMetrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  online_latency_ =
      &prometheus::BuildHistogram()
           .Name("mlops_features_online_latency_seconds")
           .Help("GetOnlineFeatures time in the handler (lookups and response building)")
           .Register(*registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.00005, 0.0001, 0.0002, 0.0004,
                                                            0.001, 0.002, 0.005, 0.01, 0.05});
  entities_ = &prometheus::BuildHistogram()
                   .Name("mlops_features_online_entities_per_request")
                   .Help("Entity rows per GetOnlineFeatures call")
                   .Register(*registry)
                   .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100,
                                                                    200, 500, 1000});
  auto& lookups = prometheus::BuildCounter()
                      .Name("mlops_features_online_entity_lookups_total")
                      .Help("Online (entity, view) lookups by whether the entity was known")
                      .Register(*registry);
  known_ = &lookups.Add({{"result", "known"}});
  unknown_ = &lookups.Add({{"result", "unknown"}});
  lag_ = &prometheus::BuildGauge()
              .Name("mlops_features_materialization_lag_seconds")
              .Help("Seconds from the source dataset version's creation to the online store updated with it (last run)")
              .Register(*registry);
  historical_rows_ = &prometheus::BuildCounter()
                          .Name("mlops_features_historical_rows_total")
                          .Help("Rows returned by GetHistoricalFeatures")
                          .Register(*registry)
                          .Add({});
}

void FeaturesMetrics::OnlineRequest(double seconds, int64_t entities) {
  if (online_latency_ == nullptr) return;
  online_latency_->Observe(seconds);
  entities_->Observe(static_cast<double>(entities));
}

void FeaturesMetrics::EntityLookups(int64_t known, int64_t unknown) {
  if (known_ == nullptr) return;
  if (known > 0) known_->Increment(static_cast<double>(known));
  if (unknown > 0) unknown_->Increment(static_cast<double>(unknown));
}

void FeaturesMetrics::MaterializationLag(const std::string& view, double seconds) {
  if (lag_ != nullptr) lag_->Add({{"view", view}}).Set(seconds);
}

void FeaturesMetrics::HistoricalRows(int64_t rows) {
  if (historical_rows_ != nullptr) historical_rows_->Increment(static_cast<double>(rows));
}

}  // namespace mlops::features
