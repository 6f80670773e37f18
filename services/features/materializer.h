#pragma once
// Materializer: computes a view version's latest values per entity as of a
// time with OnlineSnapshot::Materialize (the FeatureEvaluator code path that
// historical retrieval uses), writes them to the online store (Postgres,
// through FeatureStore) and swaps them into this replica's memory
// (OnlineViews). Also reports materialization status and lag, reloads the
// online store at startup, and, in WatchOnce, follows the source datasets of
// AUTO views: a new head version is materialized (FULL, as of now), and runs
// made by other replicas are loaded.
//
// Runs are FULL (every entity recomputed from the whole source version) or
// INCREMENTAL: this replica keeps an IncrementalState per view version after
// each run, and when the new source version APPENDS to the one that state
// reflects (lineage walked through parent ids, no REPLACE in between), only
// the appended rows are read (ReadDatasetVersion from the parent's
// row_count) and only the entities they touch, or whose values time alone
// changed, are recomputed; the values equal a FULL run's. Otherwise (FULL
// asked, no state after a restart, a REPLACE, as_of going back, an error
// while applying) the run is FULL; the run reports the mode used and the log
// says why (features_materialization_mode).
// The online store gets the whole snapshot as chunks from a FULL run, and
// from an INCREMENTAL run only the entities it recomputed (online_rows,
// overrides on the chunks) unless they are more than 1/8 of all (then
// chunks), in the transaction that marks the run SUCCEEDED. After a
// restart the state is rebuilt on the first incremental run from the
// loaded online store (the newest successful run) and that run's source
// version, read in full once (materializer_restore.cc).
// The states are kept for the newest 3 versions of each view that ran here.
// Thread-safe; one run per view version at a time in this process.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/features/v1/features.pb.h"
#include "services/features/event_table_cache.h"
#include "services/features/feature_store.h"
#include "services/features/incremental_state.h"
#include "services/features/ingestion_client.h"
#include "services/features/materialization_plan.h"
#include "services/features/metrics.h"
#include "services/features/online_store.h"
#include "services/features/thread_pool.h"
#include "services/features/view_registry.h"

namespace mlops::features {

struct MaterializeParams {
  std::string view;
  int64_t version = 0;         // 0 = newest
  int64_t as_of_micros = 0;    // 0 = now
  RunMode requested_mode = RunMode::kIncremental;
  std::string source_version_id;  // empty = the head
  std::string trigger = "manual";
  std::string principal;
};

class Materializer {
 public:
  Materializer(const ViewRegistry* views, const IngestionClient* ingestion, EventTableCache* cache,
               FeatureStore* store, OnlineViews* online, ThreadPool* pool, FeaturesMetrics* metrics)
      : views_(views), ingestion_(ingestion), cache_(cache), store_(store), online_(online),
        pool_(pool), metrics_(metrics) {}

  // Runs a materialization. A run that fails after it started is returned
  // (state FAILED, nothing changed online), not an error.
  absl::StatusOr<RunRecord> Materialize(const MaterializeParams& params);

  absl::StatusOr<v1::GetMaterializationStatusResponse> Status(const std::string& view,
                                                              int64_t version) const;

  // Loads the newest successful run of every view version not loaded yet.
  absl::Status LoadOnlineStore();

  // One pass of the watcher (see the class comment). Errors are logged.
  void WatchOnce();

 private:
  // What this replica keeps for incremental runs of one view version.
  struct Kept {
    // Null after a restart until the first incremental run rebuilds it from
    // `stored` and the base version.
    std::shared_ptr<const IncrementalState> state;
    IncrementalBase base;
    int64_t run_id = 0;  // the run whose online store the state reflects
    std::shared_ptr<const LoadedView> stored;  // the loaded run (restored only)
  };
  // What an incremental run changed, for the online store write.
  struct Delta {
    int64_t base_run_id = 0;
    std::vector<int32_t> changed_rows;
  };

  absl::StatusOr<RunRecord> Run(const ResolvedView& view, RunRecord run, const ModePlan& plan,
                                int64_t source_rows);
  // FULL: the whole version's table; INCREMENTAL: the appended rows applied
  // to the kept state. Fill `loaded` and the run's counters.
  absl::StatusOr<Kept> RunFull(const ResolvedView& view, RunRecord* run, LoadedView* loaded);
  absl::StatusOr<Kept> RunIncremental(const ResolvedView& view, const ModePlan& plan,
                                      int64_t source_rows, RunRecord* run, LoadedView* loaded,
                                      Delta* delta);
  // After a restart: the base of the newest successful run this replica
  // has loaded (kept_ without a state), so that the next APPEND is
  // incremental. Nothing when there is none (the run is FULL).
  void Restore(const ResolvedView& view);
  // The state kept for view@version; rebuilt (reading the base version)
  // when it was restored. Adds the rows read to *rows_read.
  absl::StatusOr<Kept> KeptState(const ResolvedView& view, int64_t* rows_read);
  // Writes the run's online store (the changed rows when `delta` is given,
  // sparse enough and still applies; else the whole snapshot as chunks) and
  // marks it SUCCEEDED.
  absl::Status WriteOnline(const RunRecord& run, const LoadedView& loaded, const Delta* delta);
  // Chooses the mode for a run of `view` over `source`.
  ModePlan Plan(const ResolvedView& view, const RunRecord& run, const iv1::DatasetVersion& source);
  absl::StatusOr<v1::MaterializationStatus> StatusOf(const ResolvedView& view) const;
  // Follows one view version: materializes when its source head moved.
  void Follow(const ResolvedView& view, bool registration);

  const ViewRegistry* const views_;
  const IngestionClient* const ingestion_;
  EventTableCache* const cache_;
  FeatureStore* const store_;
  OnlineViews* const online_;
  ThreadPool* const pool_;
  FeaturesMetrics* const metrics_;
  std::mutex mu_;
  std::set<std::pair<std::string, int64_t>> running_;  // guarded by mu_
  std::map<std::pair<std::string, int64_t>, Kept> kept_;  // guarded by mu_
};

// The proto form of a run.
void RunToProto(const RunRecord& run, v1::MaterializationRun* out);

}  // namespace mlops::features
