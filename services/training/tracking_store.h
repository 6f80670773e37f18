#pragma once
// The tracking data model (plain structs, no protos) and the TrackingStore
// interface that persists it. PgTrackingStore implements it over Postgres.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops::training {

// Values equal the proto's RunStatus numbers.
enum class RunStatus {
  kUnspecified = 0,
  kQueued = 1,
  kRunning = 2,
  kSucceeded = 3,
  kFailed = 4,
  kCancelled = 5,
  kStoppedEarly = 6,
};

struct Experiment {
  std::string name;
  std::string description;
  std::map<std::string, std::string> tags;
  int64_t created_at_micros = 0;
  std::string principal;
  int64_t run_count = 0;  // output only
};

struct SplitSettings {
  int kind = 0;  // the proto's SplitKind number
  double test_fraction = 0;
  double validation_fraction = 0;
  int64_t seed = 0;
  int64_t time_cutoff_micros = 0;
};

// What a run was made from, as far as it is known.
struct RunInputs {
  std::string dataset;
  std::string dataset_version_id;
  std::vector<std::string> feature_refs;
  std::vector<std::string> feature_view_versions;
  std::map<std::string, std::string> source_dataset_versions;
  std::vector<std::string> dataset_feature_columns;
  std::string label_column;
  std::string trainer;
  std::string trainer_version;
  std::string code_version;
  int64_t seed = 0;
  SplitSettings split;
};

struct MetricPoint {
  std::string key;
  double value = 0;
  int64_t step = 0;
  int64_t timestamp_micros = 0;
};

// The latest point of one metric (highest step, then latest time), with
// min, max and count over all its points.
struct MetricSummary {
  std::string key;
  double value = 0;
  int64_t step = 0;
  int64_t timestamp_micros = 0;
  double min = 0;
  double max = 0;
  int64_t count = 0;
};

struct ArtifactRef {
  std::string sha256;
  int64_t size_bytes = 0;
  std::string path;
  std::string content_type;
  std::string run_id;
  int64_t created_at_micros = 0;
};

struct Run {
  std::string id;
  std::string experiment;
  std::string name;
  RunStatus status = RunStatus::kUnspecified;
  std::string principal;
  int64_t created_at_micros = 0;
  int64_t start_time_micros = 0;
  int64_t end_time_micros = 0;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::vector<MetricSummary> metrics;  // by key
  RunInputs inputs;
  std::string job_id;
  int32_t trial_index = 0;
  std::string failure_reason;
  std::vector<ArtifactRef> artifacts;  // by path
  int32_t attempt = 1;
};

// The fields of a run the state machine looks at.
struct RunHead {
  std::string id;
  RunStatus status = RunStatus::kUnspecified;
  int64_t start_time_micros = 0;
  int64_t end_time_micros = 0;
  std::string job_id;
  std::string failure_reason;
};

// A status change decided by the domain (tracking.h: DecideEnd / DecideCancel).
struct RunEnd {
  RunStatus status = RunStatus::kSucceeded;
  int64_t end_time_micros = 0;
  std::string failure_reason;
};

enum class Comparison { kUnspecified = 0, kGreater, kGreaterOrEqual, kLess, kLessOrEqual, kEqual };

struct MetricFilter {
  std::string key;
  Comparison op = Comparison::kUnspecified;
  double value = 0;
};

// ListRuns' filters (all AND) and order. Empty lists and zero bounds match all.
struct RunFilter {
  std::vector<std::string> experiments;
  std::vector<RunStatus> statuses;
  std::vector<std::pair<std::string, std::string>> params;  // key = value
  std::vector<MetricFilter> metrics;
  std::vector<std::pair<std::string, std::string>> tags;  // value "" = any value
  std::string job_id;
  int64_t started_after_micros = 0;
  int64_t started_before_micros = 0;
  std::string order_metric;  // "" = by start time
  bool ascending = false;
};

// Where a page of ListRuns ended. With an order metric, runs that have the
// metric come first (phase 0, keyed by value and run id), then runs without
// it (phase 1, keyed by start time and run id).
struct RunCursor {
  int phase = 0;
  double value = 0;
  int64_t start_time_micros = 0;
  std::string run_id;
};

struct RunPage {
  std::vector<Run> runs;
  std::optional<RunCursor> next;  // none on the last page
};

// Where a page of metric history ended.
struct HistoryCursor {
  int64_t step = 0;
  int64_t timestamp_micros = 0;
  int64_t seq = 0;
};

struct HistoryPage {
  std::vector<MetricPoint> points;
  std::optional<HistoryCursor> next;
};

// Persistence of tracking data. Implementations are thread-safe. Errors:
// NotFound names the missing run or experiment; the rest as documented.
class TrackingStore {
 public:
  virtual ~TrackingStore() = default;

  // AlreadyExists if the name is taken.
  virtual absl::Status CreateExperiment(const Experiment& experiment) = 0;
  virtual absl::StatusOr<Experiment> GetExperiment(const std::string& name) = 0;
  // Names > after_name starting with prefix, by name, at most limit.
  virtual absl::StatusOr<std::vector<Experiment>> ListExperiments(const std::string& prefix,
                                                                  const std::string& after_name,
                                                                  int limit) = 0;

  // Inserts a run with its params and tags. NotFound: no such experiment.
  virtual absl::Status CreateRun(const Run& run) = 0;
  virtual absl::StatusOr<Run> GetRun(const std::string& run_id) = 0;

  // Appends points (already validated, timestamps set) atomically and
  // updates the latest values. FailedPrecondition if the run is not RUNNING.
  virtual absl::Status AppendMetrics(const std::string& run_id,
                                     const std::vector<MetricPoint>& points) = 0;
  // Sets params; FailedPrecondition naming the key when one holds another
  // value, or when the run has ended. At most max_params per run in all.
  virtual absl::Status LogParams(const std::string& run_id,
                                 const std::map<std::string, std::string>& params,
                                 int max_params) = 0;
  virtual absl::Status SetTags(const std::string& run_id,
                               const std::map<std::string, std::string>& set,
                               const std::vector<std::string>& remove, int max_tags) = 0;

  // Locks the run, calls decide(head); if it returns a change, applies it.
  // Returns the run afterwards.
  using DecideFn = std::function<absl::StatusOr<std::optional<RunEnd>>(const RunHead&)>;
  virtual absl::StatusOr<Run> TransitionRun(const std::string& run_id,
                                            const DecideFn& decide) = 0;

  // NotFound when filter.experiments names an unknown experiment.
  virtual absl::StatusOr<RunPage> ListRuns(const RunFilter& filter,
                                           const std::optional<RunCursor>& after,
                                           int limit) = 0;
  virtual absl::StatusOr<HistoryPage> MetricHistory(const std::string& run_id,
                                                    const std::string& key,
                                                    const std::optional<HistoryCursor>& after,
                                                    int limit) = 0;

  // Stores content under ref.sha256 (once per content) and links ref.path
  // of ref.run_id to it. Same content at the same path: returns the existing
  // ref. AlreadyExists: the path holds other content. FailedPrecondition:
  // the run has ended.
  virtual absl::StatusOr<ArtifactRef> PutArtifact(const ArtifactRef& ref,
                                                  const std::string& content) = 0;
  virtual absl::StatusOr<std::vector<ArtifactRef>> ListArtifacts(const std::string& run_id) = 0;
  // By (run, path) when path is non-empty, else any ref of sha256.
  virtual absl::StatusOr<ArtifactRef> FindArtifact(const std::string& sha256,
                                                   const std::string& run_id,
                                                   const std::string& path) = 0;
  // The chunk_index-th chunk (kArtifactChunkBytes each) of a blob.
  virtual absl::StatusOr<std::string> ReadBlobChunk(const std::string& sha256,
                                                    int chunk_index) = 0;
};

inline constexpr int64_t kArtifactChunkBytes = 1 << 20;

}  // namespace mlops::training
