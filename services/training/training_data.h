#pragma once
// Where a job's data comes from and where its model goes, as interfaces the
// job runner calls: TrainingDataSource (dataset and feature view metadata,
// and the rows of the training set, from the ingestion and feature services)
// and ModelRegistrar (the model registry). PeerTrainingData and
// PeerModelRegistrar (peer_clients.h) implement them over gRPC. Also the
// pure conversion of fetched rows into a TrainingSet, with the label checks.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/training/eval_metrics.h"
#include "services/training/training_set.h"

namespace mlops::registry::v1 {
class RegisterModelVersionHeader;
class ModelVersion;
class Evaluation;
}  // namespace mlops::registry::v1

namespace mlops::training {

// Column roles use the numbers of mlops.common.v1.ColumnRole.
inline constexpr int kRoleEntityKey = 1;
inline constexpr int kRoleEventTimestamp = 2;
inline constexpr int kRoleFeature = 3;

struct ColumnInfo {
  std::string name;
  int type = 0;  // DataType number
  int role = 0;  // ColumnRole number
};

struct DatasetInfo {
  std::string name;
  std::vector<ColumnInfo> columns;
};

struct FeatureViewInfo {
  std::string name;
  int64_t version = 0;
  std::vector<ColumnInfo> features;
  std::string entity_key_column;
};

struct FetchRequest {
  std::string dataset;
  std::string version_id;                 // pinned
  std::vector<std::string> columns;       // input columns read and passed through
  std::vector<std::string> feature_refs;  // empty: read the dataset version only
  std::string entity_key_column;          // "" = the ENTITY_KEY column
  std::string timestamp_column;           // "" = the EVENT_TIMESTAMP column
  std::map<std::string, std::string> source_dataset_versions;  // view -> version (pins)
};

// Fetched rows: numeric values (INT64, DOUBLE, BOOL as 0/1, TIMESTAMP as
// micros), NULL and non-numeric values as NaN with is_null set.
struct FetchedTable {
  std::vector<ColumnInfo> columns;
  std::size_t rows = 0;
  std::vector<double> values;  // rows x columns
  std::vector<bool> is_null;   // rows x columns
  std::string dataset_version_id;
  std::vector<std::string> resolved_feature_refs;   // `view@3:feature`, output order
  std::vector<std::string> feature_view_versions;   // `view@3`
  std::map<std::string, std::string> source_dataset_versions;
};

// Reads metadata and rows. Thread-safe. Errors as the peers give them
// (NotFound, InvalidArgument, Unavailable: retry).
class TrainingDataSource {
 public:
  virtual ~TrainingDataSource() = default;
  virtual absl::StatusOr<DatasetInfo> DescribeDataset(const std::string& dataset) = 0;
  // "" or "latest" -> the dataset's newest version id; an id -> itself if it
  // exists in the dataset. NotFound otherwise.
  virtual absl::StatusOr<std::string> ResolveVersion(const std::string& dataset,
                                                     const std::string& version_id) = 0;
  // version 0 = newest.
  virtual absl::StatusOr<FeatureViewInfo> DescribeFeatureView(const std::string& name,
                                                              int64_t version) = 0;
  virtual absl::StatusOr<FetchedTable> Fetch(const FetchRequest& request) = 0;
};

// Registers a model version; returns its number. Thread-safe.
class ModelRegistrar {
 public:
  virtual ~ModelRegistrar() = default;
  virtual absl::StatusOr<int64_t> Register(const registry::v1::RegisterModelVersionHeader& header,
                                           const std::string& artifact) = 0;
  // Asks the registry to move the version to `stage` ("staging", or
  // "production" through staging), which runs its gate. Returns what the gate
  // decided ("GRANTED: <check>: <measured>; ..."); FailedPrecondition with the
  // gate's reasons when it says no.
  virtual absl::StatusOr<std::string> RequestStage(const std::string& model, int64_t version,
                                                   const std::string& stage,
                                                   const std::string& reason) = 0;
  // The model's PRODUCTION version (the champion); NotFound when it has none.
  virtual absl::StatusOr<registry::v1::ModelVersion> GetProductionVersion(const std::string& model) = 0;
  // A version's artifact bytes, verified against `expected_sha256`
  // (DataLoss when they differ).
  virtual absl::StatusOr<std::string> GetArtifact(const std::string& model, int64_t version,
                                                  const std::string& expected_sha256) = 0;
  // Appends an evaluation to an existing version (AlreadyExists when one
  // with that name and dataset version is there).
  virtual absl::Status AddEvaluation(const std::string& model, int64_t version,
                                     const registry::v1::Evaluation& evaluation) = 0;
};

// Builds the training set from fetched rows: the label column (checked per
// row for the objective: binary BOOL or INT64 in {0, 1}; regression INT64 or
// DOUBLE; multi-class INT64 in [0, num_class); NULL fails, naming the row),
// the feature columns in the given order (NULL = missing), the event times
// from timestamp_column ("" = none).
absl::StatusOr<TrainingSet> BuildTrainingSet(const FetchedTable& table,
                                             const std::string& label_column,
                                             const std::vector<std::string>& feature_columns,
                                             const std::string& timestamp_column,
                                             Objective objective, int num_class);

// InvalidArgument naming data.label_column when the type cannot serve the
// objective (BOOL/INT64 binary, INT64/DOUBLE regression, INT64 multi-class).
absl::Status CheckLabelType(const std::string& label_column, int type, Objective objective);

}  // namespace mlops::training
