#pragma once
// FeatureStore: what the feature service keeps in Postgres, behind an
// interface so the domain classes do not see SQL. Records are plain structs;
// view definitions and online chunks travel as opaque bytes (serialized
// protos the service layer encodes). Implementations are thread-safe.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops::features {

// One stored version of a feature view.
struct ViewRecord {
  std::string name;
  int64_t version = 0;
  std::string definition_hash;
  std::string source_dataset;
  int64_t created_at_micros = 0;
  std::string view_proto;  // serialized mlops.features.v1.FeatureView
};

// Numbering follows mlops.features.v1.MaterializationState / Mode.
enum class RunState : int { kRunning = 1, kSucceeded = 2, kFailed = 3 };
enum class RunMode : int { kFull = 1, kIncremental = 2 };

// One materialization run.
struct RunRecord {
  int64_t id = 0;
  std::string view;
  int64_t version = 0;
  RunState state = RunState::kRunning;
  RunMode requested_mode = RunMode::kIncremental;
  RunMode mode = RunMode::kFull;
  int64_t as_of_micros = 0;
  std::string source_version_id;
  int64_t source_version_created_micros = 0;
  int64_t rows_read = 0;
  int64_t entities_written = 0;
  int64_t started_at_micros = 0;
  int64_t finished_at_micros = 0;
  std::string error;
  std::string trigger;
  std::string principal;
};

// A chunk of the online store: `entity_count` entities, encoded by the
// service layer (chunk: serialized FeatureRowChunk; statuses: one byte per
// entity and feature).
struct OnlineChunk {
  int32_t entity_count = 0;
  std::string chunk;
  std::string statuses;
};

// One entity of the online store (Postgres online_rows), encoded by the
// service layer: key = the entity key as a serialized Value; row = a
// serialized Row [key, last event time, values...]; statuses: one byte per
// feature; row_index: the entity's row in the snapshot.
struct OnlineRow {
  std::string key;
  int32_t row_index = 0;
  std::string row;
  std::string statuses;
};

// What a successful run writes to the online store of its view version.
// The store holds the chunks of the newest FULL run plus, per entity, the
// rows later INCREMENTAL runs changed (overrides, by row_index).
struct OnlineWrite {
  // true (FULL): `chunks` are every entity; the stored chunks and rows of
  // the view version are replaced. false (INCREMENTAL): `rows` are the
  // entities that changed since the run `base_run_id`, which must still be
  // the view version's newest successful run (else FinishRun answers
  // FailedPrecondition and writes nothing); they are upserted.
  bool replace_all = true;
  std::vector<OnlineChunk> chunks;
  int64_t base_run_id = 0;
  std::vector<OnlineRow> rows;
};

// A view version's online store as its newest successful run left it.
struct StoredOnline {
  RunRecord run;
  std::vector<OnlineChunk> chunks;  // the newest FULL run's, in order
  std::vector<OnlineRow> rows;      // overrides since, in row_index order
};

struct ListViewsQuery {
  std::string name_prefix;
  std::string source_dataset;
  bool all_versions = false;
  // Keyset paging: rows after (after_name, after_version).
  std::string after_name;
  int64_t after_version = 0;
  int limit = 100;
};

class FeatureStore {
 public:
  virtual ~FeatureStore() = default;

  // Atomically: if the newest version of `name` has `definition_hash`,
  // returns it with false; else stores version newest + 1 (or 1), whose
  // view_proto is make_proto(version), and returns it with true. Concurrent
  // calls for one name are serialized.
  virtual absl::StatusOr<std::pair<ViewRecord, bool>> PutViewVersion(
      const std::string& name, const std::string& definition_hash,
      const std::string& source_dataset, int64_t now_micros,
      const std::function<std::string(int64_t version)>& make_proto) = 0;

  // One version (0 = newest); NotFound when absent.
  virtual absl::StatusOr<ViewRecord> GetView(const std::string& name, int64_t version) = 0;

  // A page of views ordered by (name, version).
  virtual absl::StatusOr<std::vector<ViewRecord>> ListViews(const ListViewsQuery& query) = 0;

  // Starts a run (state RUNNING); returns its id.
  virtual absl::StatusOr<int64_t> StartRun(const RunRecord& run) = 0;
  // Ends a run as SUCCEEDED and applies `write` to the online store of its
  // view version, in one transaction (readers see the run whole or not at
  // all). FailedPrecondition when an incremental write's base run is no longer the
  // newest success (nothing is written; the run stays RUNNING).
  virtual absl::Status FinishRun(const RunRecord& run, const OnlineWrite& write) = 0;
  // Ends a run as FAILED (the online store is unchanged).
  virtual absl::Status FailRun(const RunRecord& run) = 0;

  // The newest run and the newest successful run of a view version.
  virtual absl::StatusOr<std::optional<RunRecord>> LastRun(const std::string& view,
                                                           int64_t version) = 0;
  virtual absl::StatusOr<std::optional<RunRecord>> LastSuccess(const std::string& view,
                                                               int64_t version) = 0;
  // The newest successful run of every view version that has one.
  virtual absl::StatusOr<std::vector<RunRecord>> AllLastSuccesses() = 0;
  // The versions of `view` that have at least one run.
  virtual absl::StatusOr<std::vector<int64_t>> MaterializedVersions(const std::string& view) = 0;

  // The newest successful run of a view version and its online store, read
  // in one consistent snapshot; nullopt when it has no successful run.
  virtual absl::StatusOr<std::optional<StoredOnline>> LoadOnline(const std::string& view,
                                                                 int64_t version) = 0;
};

}  // namespace mlops::features
