#pragma once
// The training service's clients of its peers: PeerTrainingData
// (TrainingDataSource over ingestion's GetDataset / ListDatasetVersions /
// GetDatasetVersion / ReadDatasetVersion and the feature service's
// GetFeatureView / GetHistoricalFeatures) and PeerModelRegistrar
// (ModelRegistrar over the registry's RegisterModelVersion,
// RequestTransition, GetModelVersion, GetArtifact and AddEvaluation), plus the retry
// helper for transient failures. Do not own the channels. Thread-safe.

#include <chrono>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "common/peers/peer_channel.h"
#include "mlops/registry/v1/registry.pb.h"
#include "services/training/training_data.h"

namespace mlops::training {

struct RetryPolicy {
  int max_retries = 3;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
};

// Calls fn until it returns anything but Unavailable, at most 1 + max_retries
// times, sleeping initial_backoff, doubled each time (capped), between
// tries; on_retry(attempt, status) is told before each sleep (may be null).
// `stop()` (may be null) ends the waiting early with the last status.
absl::Status RetryUnavailable(const RetryPolicy& policy, const std::function<absl::Status()>& fn,
                              const std::function<void(int, const absl::Status&)>& on_retry,
                              const std::function<bool()>& stop = nullptr);

class PeerTrainingData final : public TrainingDataSource {
 public:
  // `features` may be null: jobs naming feature refs then fail FailedPrecondition.
  PeerTrainingData(const PeerChannel* ingestion, const PeerChannel* features)
      : ingestion_(ingestion), features_(features) {}

  absl::StatusOr<DatasetInfo> DescribeDataset(const std::string& dataset) override;
  absl::StatusOr<std::string> ResolveVersion(const std::string& dataset,
                                             const std::string& version_id) override;
  absl::StatusOr<FeatureViewInfo> DescribeFeatureView(const std::string& name,
                                                      int64_t version) override;
  absl::StatusOr<FetchedTable> Fetch(const FetchRequest& request) override;

 private:
  absl::StatusOr<FetchedTable> ReadDataset(const FetchRequest& request);
  absl::StatusOr<FetchedTable> HistoricalFeatures(const FetchRequest& request);
  absl::Status NeedFeatures() const;

  const PeerChannel* ingestion_;
  const PeerChannel* features_;
};

class PeerModelRegistrar final : public ModelRegistrar {
 public:
  explicit PeerModelRegistrar(const PeerChannel* registry) : registry_(registry) {}
  absl::StatusOr<int64_t> Register(const registry::v1::RegisterModelVersionHeader& header,
                                   const std::string& artifact) override;
  absl::StatusOr<std::string> RequestStage(const std::string& model, int64_t version,
                                           const std::string& stage,
                                           const std::string& reason) override;
  absl::StatusOr<registry::v1::ModelVersion> GetProductionVersion(const std::string& model) override;
  absl::StatusOr<std::string> GetArtifact(const std::string& model, int64_t version,
                                          const std::string& expected_sha256) override;
  absl::Status AddEvaluation(const std::string& model, int64_t version,
                             const registry::v1::Evaluation& evaluation) override;

 private:
  absl::StatusOr<std::string> Transition(const std::string& model, int64_t version,
                                         registry::v1::Stage stage, const std::string& reason);
  const PeerChannel* registry_;
};

}  // namespace mlops::training
