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
  // Ends a run as SUCCEEDED, replacing the online chunks of its view version
  // with `chunks` in the same transaction.
  virtual absl::Status FinishRun(const RunRecord& run, const std::vector<OnlineChunk>& chunks) = 0;
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

  // The online chunks of a run, in order.
  virtual absl::StatusOr<std::vector<OnlineChunk>> LoadChunks(int64_t run_id) = 0;
};

}  // namespace mlops::features
