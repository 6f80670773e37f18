#pragma once
// PgFeatureStore: FeatureStore on the "features" schema (migrations/).
// Thread-safe (every call leases its own pooled connection); does not own
// the pool.

#include "common/db/pg_pool.h"
#include "services/features/feature_store.h"

namespace mlops::features {

class PgFeatureStore : public FeatureStore {
 public:
  explicit PgFeatureStore(PgPool* pool) : pool_(pool) {}

  absl::StatusOr<std::pair<ViewRecord, bool>> PutViewVersion(
      const std::string& name, const std::string& definition_hash,
      const std::string& source_dataset, int64_t now_micros,
      const std::function<std::string(int64_t version)>& make_proto) override;
  absl::StatusOr<ViewRecord> GetView(const std::string& name, int64_t version) override;
  absl::StatusOr<std::vector<ViewRecord>> ListViews(const ListViewsQuery& query) override;

  absl::StatusOr<int64_t> StartRun(const RunRecord& run) override;
  absl::Status FinishRun(const RunRecord& run, const OnlineWrite& write) override;
  absl::Status FailRun(const RunRecord& run) override;
  absl::StatusOr<std::optional<RunRecord>> LastRun(const std::string& view,
                                                   int64_t version) override;
  absl::StatusOr<std::optional<RunRecord>> LastSuccess(const std::string& view,
                                                       int64_t version) override;
  absl::StatusOr<std::vector<RunRecord>> AllLastSuccesses() override;
  absl::StatusOr<std::vector<int64_t>> MaterializedVersions(const std::string& view) override;
  absl::StatusOr<std::optional<StoredOnline>> LoadOnline(const std::string& view,
                                                         int64_t version) override;

 private:
  PgPool* const pool_;
};

}  // namespace mlops::features
