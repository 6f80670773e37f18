#pragma once
// PgTrackingStore: TrackingStore over the "training" schema
// (migrations/0001_tracking.sql onwards). Metric points are stored packed:
// each LogMetrics message adds one metric_block row per key
// (metric_blocks.h, migration 0005), and the latest value of each metric is
// upserted into run_latest_metric in the same statement and transaction.
// Does not own the pool. Thread-safe (the pool is).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/db/pg_pool.h"
#include "services/training/tracking_store.h"

namespace mlops::training {

class PgTrackingStore : public TrackingStore {
 public:
  explicit PgTrackingStore(PgPool* pool) : pool_(pool) {}

  absl::Status CreateExperiment(const Experiment& experiment) override;
  absl::StatusOr<Experiment> GetExperiment(const std::string& name) override;
  absl::StatusOr<std::vector<Experiment>> ListExperiments(const std::string& prefix,
                                                          const std::string& after_name,
                                                          int limit) override;
  absl::Status CreateRun(const Run& run) override;
  absl::StatusOr<Run> GetRun(const std::string& run_id) override;
  absl::Status AppendMetrics(const std::string& run_id,
                             const std::vector<MetricPoint>& points) override;
  absl::Status LogParams(const std::string& run_id,
                         const std::map<std::string, std::string>& params,
                         int max_params) override;
  absl::Status SetTags(const std::string& run_id, const std::map<std::string, std::string>& set,
                       const std::vector<std::string>& remove, int max_tags) override;
  absl::StatusOr<Run> TransitionRun(const std::string& run_id, const DecideFn& decide) override;
  absl::StatusOr<RunPage> ListRuns(const RunFilter& filter, const std::optional<RunCursor>& after,
                                   int limit) override;
  absl::StatusOr<HistoryPage> MetricHistory(const std::string& run_id, const std::string& key,
                                            const std::optional<HistoryCursor>& after,
                                            int limit) override;
  absl::StatusOr<ArtifactRef> PutArtifact(const ArtifactRef& ref,
                                          const std::string& content) override;
  absl::StatusOr<std::vector<ArtifactRef>> ListArtifacts(const std::string& run_id) override;
  absl::StatusOr<ArtifactRef> FindArtifact(const std::string& sha256, const std::string& run_id,
                                           const std::string& path) override;
  absl::StatusOr<std::string> ReadBlobChunk(const std::string& sha256, int chunk_index) override;

 private:
  PgPool* pool_;
};

// Postgres text[] literal of `values` ({"a","b\"c"}), for $n::text[] params.
std::string PgTextArray(const std::vector<std::string>& values);

}  // namespace mlops::training
