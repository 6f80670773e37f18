#pragma once

// Automatic references: when a model version reaches production (the
// registry's WatchDeployments, followed by DeploymentFollower), the
// AutoReferencer reads the version (its signature and lineage) and builds
// its reference from the training data:
//   - when some input is a feature reference: the model's inputs over the
//     training dataset version's rows, computed by the feature service's
//     historical retrieval (point in time, as training computed them), an
//     even sample of at most `max_rows` rows (every k-th row: deterministic);
//   - when every input is a raw column of the dataset: the dataset version's
//     ingestion profile, restricted to the inputs.
// It is stored through the SetReference path, marked `automatic` with the
// dataset version as its origin. A version that already has a reference is
// left alone. Failures are logged, counted and retried with backoff (5 s
// doubling to 5 min) for as long as the process runs; nothing throws.
// Owns one worker thread (Start / Stop). Thread-safe; collaborators are not
// owned and must outlive it.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/monitoring/v1/monitoring.pb.h"
#include "services/monitoring/monitoring_service.h"

namespace mlops::monitoring {

// One input of a model version, as its signature names it.
struct ModelInput {
  std::string name;
  common::v1::DataType type = common::v1::DATA_TYPE_UNSPECIFIED;
  std::string feature_ref;  // "view@3:feature"; empty: a raw column of the dataset
};

// What the reference of a version is built from (registry signature and
// lineage).
struct ModelInputs {
  std::string model;
  int64_t version = 0;
  std::string dataset;          // the training dataset's name
  std::string dataset_version;  // the training dataset version (sha256 hex)
  std::string entity_key;       // the signature's entity key column; may be empty
  std::vector<ModelInput> inputs;
};

// The registry (GetModelVersion). NOT_FOUND for an unknown version;
// FAILED_PRECONDITION when the version has no training dataset version.
class ModelVersionSource {
 public:
  virtual ~ModelVersionSource() = default;
  virtual absl::StatusOr<ModelInputs> GetModelInputs(const std::string& model,
                                                     int64_t version) = 0;
};

// The feature service (GetHistoricalFeatures over the training dataset
// version): rows of the model's inputs, in `inputs` order, schema typed as
// the signature says; at most `max_rows`, every k-th row.
class TrainingRowSource {
 public:
  virtual ~TrainingRowSource() = default;
  virtual absl::StatusOr<v1::InlineRows> SampleInputs(const ModelInputs& inputs,
                                                      int64_t max_rows) = 0;
};

// Where references go (MonitoringServiceImpl in production).
class ReferenceSink {
 public:
  virtual ~ReferenceSink() = default;
  virtual absl::StatusOr<bool> HasReference(const std::string& model, int64_t version) = 0;
  virtual absl::Status SetAutomaticReference(const v1::SetReferenceRequest& req,
                                             const std::string& dataset_version) = 0;
};

// mlops_monitoring_auto_references_total{outcome}: set, failed, skipped
// (a reference existed).
class AutoReferenceCounters {
 public:
  virtual ~AutoReferenceCounters() = default;
  virtual void AutoReference(const std::string& outcome) = 0;
};

// MonitoringServiceImpl as a ReferenceSink.
class ServiceReferenceSink : public ReferenceSink {
 public:
  explicit ServiceReferenceSink(MonitoringServiceImpl* service) : service_(service) {}
  absl::StatusOr<bool> HasReference(const std::string& model, int64_t version) override;
  absl::Status SetAutomaticReference(const v1::SetReferenceRequest& req,
                                     const std::string& dataset_version) override;

 private:
  MonitoringServiceImpl* const service_;
};

// The reference request for a model whose inputs are all raw columns: the
// profile's columns named by the inputs, in input order. FAILED_PRECONDITION
// naming an input the profile lacks.
absl::StatusOr<v1::SetReferenceRequest> ReferenceRequestFromProfile(
    const ModelInputs& inputs, const common::v1::DatasetProfile& profile);

// The delay before attempt `attempts` + 1 after `attempts` failures: first,
// doubling, capped at `max`.
int64_t RetryDelayMicros(int attempts, int64_t first_micros, int64_t max_micros);

struct AutoReferencerOptions {
  int64_t max_rows = 50'000;  // training rows sampled (<= kMaxReferenceRows)
  int64_t first_retry_micros = 5'000'000;
  int64_t max_retry_micros = 300'000'000;
  size_t max_queued = 1000;  // versions waiting; beyond: dropped, logged, counted
};

class AutoReferencer {
 public:
  // `rows` null: versions with feature inputs fail (counted, retried);
  // `profiles` null: versions with only raw inputs fail likewise.
  AutoReferencer(ModelVersionSource* versions, TrainingRowSource* rows, ProfileSource* profiles,
                 ReferenceSink* sink, AutoReferenceCounters* counters,
                 AutoReferencerOptions options = {});
  ~AutoReferencer();
  AutoReferencer(const AutoReferencer&) = delete;
  AutoReferencer& operator=(const AutoReferencer&) = delete;

  void Start();
  void Stop();

  // model@version is (now) in production: queue it unless it was handled.
  // Never blocks on I/O.
  void OnProduction(const std::string& model, int64_t version);

  // One attempt, on the calling thread: OK when the reference exists
  // afterwards (set now, or already there).
  absl::Status EnsureReference(const std::string& model, int64_t version);

  int64_t failures() const;

 private:
  using Key = std::tuple<std::string, int64_t>;
  struct Pending {
    int attempts = 0;
    std::chrono::steady_clock::time_point due;
  };
  void Run();

  ModelVersionSource* const versions_;
  TrainingRowSource* const rows_;
  ProfileSource* const profiles_;
  ReferenceSink* const sink_;
  AutoReferenceCounters* const counters_;
  const AutoReferencerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<Key, Pending> pending_;
  std::set<Key> done_;
  int64_t failures_ = 0;
  std::thread thread_;
};

}  // namespace mlops::monitoring
