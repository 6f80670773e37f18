#pragma once
// The gateway's calls to the feature service for batch scoring with
// POINT_IN_TIME features: the output types of the features a model's
// signature refers to (GetFeatureView, checked at submission), and the
// point-in-time join of a dataset version's rows (GetHistoricalFeatures, the
// same join training uses, so no value from after a row's event time),
// streamed chunk by chunk. Thread-safe; owns its stub, not the channel.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/peers/peer_channel.h"
#include "mlops/features/v1/features.grpc.pb.h"

namespace mlops::gateway {

// One point-in-time join over an ingestion dataset version: its rows
// projected on `columns` (in that order), then one column per ref (request
// order), each as of the row's `timestamp_column` for its `entity_key_column`.
struct HistoricalRead {
  std::string dataset;
  std::string version_id;
  std::vector<std::string> columns;
  std::string entity_key_column;
  std::string timestamp_column;
  std::vector<std::string> feature_refs;
};

class BatchFeaturesClient {
 public:
  // `peer` is not owned and must outlive the client. `long_deadline` bounds
  // a whole join.
  explicit BatchFeaturesClient(const PeerChannel* peer,
                               std::chrono::milliseconds long_deadline = std::chrono::hours(6));

  // The output type of each ref ("view:feature" or "view@3:feature"), in
  // order. `inputs[k]` is the model input refs[k] feeds (for messages).
  // NotFound naming the ref and input for an unknown view, version or
  // feature; InvalidArgument for a malformed ref; Unavailable when the
  // feature service is unreachable.
  absl::StatusOr<std::vector<common::v1::DataType>> FeatureTypes(
      const std::vector<std::string>& refs, const std::vector<std::string>& inputs);

  // Streams the join: `on_header` once, then `on_chunk` per chunk (rows in
  // input order). An error from a callback cancels the call and is returned;
  // the feature service's errors keep their code, prefixed "features: ".
  absl::Status Read(
      const HistoricalRead& read,
      const std::function<absl::Status(const features::v1::HistoricalFeaturesHeader&)>& on_header,
      const std::function<absl::Status(const features::v1::FeatureRowChunk&)>& on_chunk);

 private:
  const PeerChannel* const peer_;
  const std::chrono::milliseconds long_deadline_;
  std::unique_ptr<features::v1::FeatureService::Stub> stub_;
};

}  // namespace mlops::gateway
