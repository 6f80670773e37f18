#pragma once
// The ingestion service's metric families (created once, injected;
// thread-safe as prometheus-cpp is). The dataset label is bounded by the
// number of datasets (operator-created), as the dashboards expect.
#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace mlops::ingestion {

class IngestionMetrics {
 public:
  // `registry` may be null: nothing is recorded (tests).
  explicit IngestionMetrics(prometheus::Registry* registry);

  // mlops_ingestion_batches_total{dataset,outcome} and, when committed,
  // mlops_ingestion_rows_total{dataset}, mlops_ingestion_versions_total{dataset},
  // mlops_ingestion_bytes_total{dataset}.
  void Batch(const std::string& dataset, const std::string& outcome, int64_t rows, int64_t bytes);
  // mlops_ingestion_validation_failures_total{dataset,expectation}: failing rows.
  void ValidationFailures(const std::string& dataset, const std::string& expectation,
                          int64_t rows);
  // mlops_ingestion_validation_duration_seconds: streaming validation + suite.
  void ValidationSeconds(double seconds);
  // mlops_ingestion_source_pulls_total{source,outcome}: outcome is committed,
  // rejected, no_new_data or failed.
  void SourcePull(const std::string& source, const std::string& outcome);

 private:
  prometheus::Family<prometheus::Counter>* batches_ = nullptr;
  prometheus::Family<prometheus::Counter>* rows_ = nullptr;
  prometheus::Family<prometheus::Counter>* versions_ = nullptr;
  prometheus::Family<prometheus::Counter>* bytes_ = nullptr;
  prometheus::Family<prometheus::Counter>* failures_ = nullptr;
  prometheus::Family<prometheus::Counter>* pulls_ = nullptr;
  prometheus::Histogram* validation_seconds_ = nullptr;
};

}  // namespace mlops::ingestion
