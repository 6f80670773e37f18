#pragma once
// Experiment tracking, the domain half of the training service: validation
// of names, keys, sizes and values; the run state machine (RUNNING -> a
// terminal state, only forward); page tokens; and the Tracking class that
// applies them over a TrackingStore. No gRPC, no pqxx.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/training/tracking_store.h"

namespace mlops::training {

inline constexpr size_t kMaxKeyBytes = 250;
inline constexpr size_t kMaxParamValueBytes = 6000;
inline constexpr size_t kMaxTagValueBytes = 5000;
inline constexpr int kMaxParamsPerRun = 1000;
inline constexpr int kMaxTagsPerRun = 1000;
inline constexpr size_t kMaxDescriptionBytes = 4096;
inline constexpr size_t kMaxRunNameBytes = 256;
inline constexpr size_t kMaxReasonBytes = 4096;
inline constexpr size_t kMaxPointsPerMessage = 10000;
inline constexpr char kDefaultExperiment[] = "default";

// ---- Validation (pure functions; InvalidArgument naming the culprit) ----

// The platform naming rule [a-z][a-z0-9_]{0,62}; `what` names the field.
absl::Status ValidateName(std::string_view what, std::string_view name);
// Param, tag and metric keys: 1 to 250 bytes of [A-Za-z0-9_.:/-].
absl::Status ValidateKey(std::string_view what, std::string_view key);
absl::Status ValidateParams(const std::map<std::string, std::string>& params);
absl::Status ValidateTags(const std::map<std::string, std::string>& tags);
// "run-" + 16 lowercase hex.
absl::Status ValidateRunId(std::string_view run_id);
absl::Status ValidateSha256(std::string_view sha256);
// 1 to 512 bytes of [A-Za-z0-9._/-], relative, no "." or ".." segments.
absl::Status ValidateArtifactPath(std::string_view path);
// Form of references in StartRun's inputs.
absl::Status ValidateRunInputs(const RunInputs& inputs);
// Point `index` of message `message` (both from 0): key, finite value,
// step >= 0. E.g. `message 3, points[17] "loss": NaN not allowed`.
absl::Status ValidateMetricPoint(int message, int index, const MetricPoint& point);

bool IsTerminal(RunStatus status);

// The state machine. EndRun asks for `requested` (UNSPECIFIED = SUCCEEDED):
// a no-op (nullopt) when the run already ended with that status; otherwise
// the change, or the error the contract names.
absl::StatusOr<std::optional<RunEnd>> DecideEnd(const RunHead& run, RunStatus requested,
                                                int64_t end_time_micros,
                                                const std::string& reason);
// CancelRun: QUEUED or RUNNING -> CANCELLED; CANCELLED: no-op; other
// terminal states: FailedPrecondition.
absl::StatusOr<std::optional<RunEnd>> DecideCancel(const RunHead& run, int64_t now_micros,
                                                   const std::string& reason);

// ---- Page tokens (opaque, bound to the filter they were issued for) ----

// A stable fingerprint of a filter and order.
uint64_t FilterFingerprint(const RunFilter& filter);
std::string EncodeRunToken(const RunFilter& filter, const RunCursor& cursor);
absl::StatusOr<RunCursor> DecodeRunToken(const RunFilter& filter, const std::string& token);
std::string EncodeHistoryToken(const std::string& run_id, const std::string& key,
                               const HistoryCursor& cursor);
absl::StatusOr<HistoryCursor> DecodeHistoryToken(const std::string& run_id,
                                                 const std::string& key,
                                                 const std::string& token);
std::string EncodeNameToken(const std::string& name);
absl::StatusOr<std::string> DecodeNameToken(const std::string& token);

// Clamps a requested page size: 0 -> default, above max -> max.
int ClampPageSize(int requested, int default_size, int max_size);

// Lowercase hex sha256 of data.
std::string Sha256Hex(std::string_view data);

struct StartRunInput {
  std::string experiment;  // "" = default
  std::string name;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  RunInputs inputs;
  int64_t start_time_micros = 0;  // 0 = now
};

struct ExperimentPage {
  std::vector<Experiment> experiments;
  std::string next_page_token;
};

struct RunListPage {
  std::vector<Run> runs;
  std::string next_page_token;
};

struct MetricHistoryPage {
  std::vector<MetricPoint> points;
  std::string next_page_token;
};

// Tracking: validates requests and applies them through the store. Does not
// own the store. Thread-safe (the store is; the id generator is locked).
class Tracking {
 public:
  using Clock = std::function<int64_t()>;  // micros since the epoch

  explicit Tracking(TrackingStore* store, Clock clock = nullptr);

  absl::StatusOr<Experiment> CreateExperiment(Experiment experiment,
                                              const std::string& principal);
  absl::StatusOr<Experiment> GetExperiment(const std::string& name);
  absl::StatusOr<ExperimentPage> ListExperiments(const std::string& prefix,
                                                 const std::string& page_token, int page_size);

  absl::StatusOr<Run> StartRun(StartRunInput input, const std::string& principal);
  absl::StatusOr<Run> GetRun(const std::string& run_id);
  // A trial run of a job: like StartRun, with job_id and trial_index set.
  absl::StatusOr<Run> StartTrialRun(StartRunInput input, const std::string& principal,
                                    const std::string& job_id, int trial_index);
  // Ends a job's trial run (EndRun refuses those): RUNNING or QUEUED ->
  // `status` (SUCCEEDED, FAILED, CANCELLED or STOPPED_EARLY). A run that has
  // already ended is returned unchanged (a cancel may have come first).
  absl::StatusOr<Run> EndTrialRun(const std::string& run_id, RunStatus status,
                                  const std::string& reason);
  // Validates one message's points (message = its index in the stream),
  // fills zero timestamps with now, stores them. Returns the count stored.
  absl::StatusOr<int64_t> LogMetrics(const std::string& run_id, int message,
                                     std::vector<MetricPoint> points);
  absl::Status LogParams(const std::string& run_id,
                         const std::map<std::string, std::string>& params);
  absl::Status SetTags(const std::string& run_id, const std::map<std::string, std::string>& set,
                       const std::vector<std::string>& remove);
  // *changed (optional) tells whether the status changed (false: a no-op).
  absl::StatusOr<Run> EndRun(const std::string& run_id, RunStatus status,
                             int64_t end_time_micros, const std::string& reason,
                             bool* changed = nullptr);
  absl::StatusOr<Run> CancelRun(const std::string& run_id, const std::string& reason,
                                bool* changed = nullptr);
  absl::StatusOr<RunListPage> ListRuns(const RunFilter& filter, const std::string& page_token,
                                       int page_size);
  absl::StatusOr<MetricHistoryPage> GetMetricHistory(const std::string& run_id,
                                                     const std::string& key,
                                                     const std::string& page_token,
                                                     int page_size);

  // Stores a complete upload. declared_sha256 / expected_size (optional:
  // "" / 0) must match the content, else InvalidArgument.
  absl::StatusOr<ArtifactRef> PutArtifact(const std::string& run_id, const std::string& path,
                                          const std::string& content_type,
                                          const std::string& content,
                                          const std::string& declared_sha256 = "",
                                          int64_t expected_size = 0);
  // Checks an upload header before any data is read.
  absl::Status CheckUploadHeader(const std::string& run_id, const std::string& path,
                                 const std::string& content_type, int64_t expected_size);
  absl::StatusOr<std::vector<ArtifactRef>> ListArtifacts(const std::string& run_id);
  absl::StatusOr<ArtifactRef> FindArtifact(const std::string& sha256, const std::string& run_id,
                                           const std::string& path);
  absl::StatusOr<std::string> ReadChunk(const std::string& sha256, int chunk_index);

  int64_t Now() const { return clock_(); }

 private:
  std::string NewRunId();
  // Validates and stores a RUNNING run (StartRun and StartTrialRun).
  absl::StatusOr<Run> CreateRunning(StartRunInput input, const std::string& principal,
                                    const std::string& job_id, int trial_index);

  TrackingStore* store_;
  Clock clock_;
  absl::Mutex mu_;
  uint64_t rng_state_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops::training
