#include "services/ingestion/metrics.h"

namespace mlops::ingestion {

IngestionMetrics::IngestionMetrics(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  batches_ = &prometheus::BuildCounter()
                  .Name("mlops_ingestion_batches_total")
                  .Help("IngestBatch outcomes by dataset")
                  .Register(*registry);
  rows_ = &prometheus::BuildCounter()
               .Name("mlops_ingestion_rows_total")
               .Help("Rows committed into new dataset versions")
               .Register(*registry);
  versions_ = &prometheus::BuildCounter()
                   .Name("mlops_ingestion_versions_total")
                   .Help("Dataset versions committed")
                   .Register(*registry);
  bytes_ = &prometheus::BuildCounter()
                .Name("mlops_ingestion_bytes_total")
                .Help("Bytes of row data committed (protobuf encoding)")
                .Register(*registry);
  failures_ = &prometheus::BuildCounter()
                   .Name("mlops_ingestion_validation_failures_total")
                   .Help("Rows failing each expectation")
                   .Register(*registry);
  pulls_ = &prometheus::BuildCounter()
                .Name("mlops_ingestion_source_pulls_total")
                .Help("Pulls of sources by outcome")
                .Register(*registry);
  validation_seconds_ =
      &prometheus::BuildHistogram()
           .Name("mlops_ingestion_validation_duration_seconds")
           .Help("Time spent validating and profiling one batch")
           .Register(*registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.01, 0.05, 0.1, 0.5, 1, 2,
                                                            5, 10, 30, 60});
}

void IngestionMetrics::Batch(const std::string& dataset, const std::string& outcome,
                             int64_t rows, int64_t bytes) {
  if (batches_ == nullptr) return;
  batches_->Add({{"dataset", dataset}, {"outcome", outcome}}).Increment();
  if (outcome != "committed") return;
  rows_->Add({{"dataset", dataset}}).Increment(static_cast<double>(rows));
  versions_->Add({{"dataset", dataset}}).Increment();
  bytes_->Add({{"dataset", dataset}}).Increment(static_cast<double>(bytes));
}

void IngestionMetrics::ValidationFailures(const std::string& dataset,
                                          const std::string& expectation, int64_t rows) {
  if (failures_ == nullptr || rows <= 0) return;
  failures_->Add({{"dataset", dataset}, {"expectation", expectation}})
      .Increment(static_cast<double>(rows));
}

void IngestionMetrics::ValidationSeconds(double seconds) {
  if (validation_seconds_ != nullptr) validation_seconds_->Observe(seconds);
}

void IngestionMetrics::SourcePull(const std::string& source, const std::string& outcome) {
  if (pulls_ != nullptr) pulls_->Add({{"source", source}, {"outcome", outcome}}).Increment();
}

}  // namespace mlops::ingestion
