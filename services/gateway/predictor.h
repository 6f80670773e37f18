#pragma once
// Predictor: one Predict call from request to response. Resolves the
// endpoint, routes every row (primary / candidate / shadow mirror) by the
// endpoint's rollout, fetches missing inputs by entity key from the feature
// service (one batched lookup per call, within the deadline, over the
// stream FeatureLookups keeps open),
// predicts each variant's rows as one matrix, records the rollout statistics,
// queues the prediction log, and runs shadow predictions after the answer on
// a bounded background worker. TreeSHAP explanations are computed only for
// requests that ask for them (options.explain). A candidate that fails falls back to the
// primary for its rows (the failure counts in the candidate's error rate).
// Thread-safe; owns the shadow worker.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/peers/peer_channel.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "mlops/inference/v1/inference.pb.h"
#include "services/gateway/bounded_worker.h"
#include "services/gateway/endpoint_manager.h"
#include "services/gateway/feature_lookups.h"
#include "services/gateway/feature_matrix.h"
#include "services/gateway/metrics.h"
#include "services/gateway/prediction_logger.h"

namespace mlops::gateway {

struct PredictorOptions {
  int max_rows = 1000;
  int64_t default_timeout_micros = 100'000;
  std::size_t shadow_queue = 256;  // pending shadow batches
  std::function<int64_t()> now_micros;
  // false: PredictAsync's lookups are unary GetOnlineFeatures calls, as
  // before FeatureLookups (the benchmark's side-by-side line).
  bool stream_lookups = true;
};

class Predictor {
 public:
  // None owned. `features`, `logger` and `metrics` may be null.
  Predictor(EndpointManager* endpoints, const PeerChannel* features, PredictionLogger* logger,
            GatewayMetrics* metrics, PredictorOptions options);

  // `deadline`: the gRPC deadline (time_point::max() if none). Blocks on
  // the feature service when the request needs a lookup.
  absl::StatusOr<inference::v1::PredictResponse> Predict(
      const inference::v1::PredictRequest& request,
      std::chrono::system_clock::time_point deadline);

  using PredictDone = std::function<void(absl::StatusOr<inference::v1::PredictResponse>)>;
  // As Predict, without blocking: the feature lookup (if any) goes through
  // FeatureLookups. `done` runs exactly once: on this thread when there is
  // nothing to fetch (or the call fails before), else on the thread the
  // lookup ended on (see FeatureLookups::Lookup). `request` must stay valid
  // until then.
  void PredictAsync(const inference::v1::PredictRequest& request,
                    std::chrono::system_clock::time_point deadline, PredictDone done);

  // See FeatureLookups::ReleaseQueues: the server whose queues carried
  // PredictAsync calls stopped.
  void ReleaseQueues();

  // Waits until queued shadow predictions are done (tests).
  void DrainShadows() { shadows_.Drain(); }

 private:
  struct Call;
  // Checks and routes the request's rows (before any lookup).
  absl::Status Prepare(Call& call, const inference::v1::PredictRequest& request,
                       std::chrono::system_clock::time_point deadline);
  // Builds the feature lookup; leaves call.fetch_context null when nothing
  // needs fetching.
  absl::Status PrepareFetch(Call& call);
  // Indexes the feature service's answer (or maps its failure).
  absl::Status AfterFetch(Call& call, const grpc::Status& status);
  // Predicts, records, logs and answers (features fetched).
  absl::StatusOr<inference::v1::PredictResponse> Answer(const std::shared_ptr<Call>& call);
  // Counts a failed call in the metrics; returns `out`.
  absl::StatusOr<inference::v1::PredictResponse> Counted(
      const inference::v1::PredictRequest& request,
      absl::StatusOr<inference::v1::PredictResponse> out);
  absl::Status PredictVariant(Call& call, bool candidate);
  void Shadow(std::shared_ptr<Call> call);
  void Log(const Call& call, const LoadedModel& model, monitoring::v1::Variant variant,
           const std::vector<int>& rows, const FeatureMatrix& inputs,
           const std::vector<const inference::v1::RowPrediction*>& outputs,
           int64_t latency_micros);

  EndpointManager* const endpoints_;
  const PeerChannel* const features_;
  PredictionLogger* const logger_;
  GatewayMetrics* const metrics_;
  const PredictorOptions options_;
  std::unique_ptr<features::v1::FeatureService::Stub> feature_stub_;  // Predict's blocking calls
  BoundedWorker shadows_;
  // PredictAsync's lookups. Last: destroyed first, while what the lookups'
  // completions use still exists.
  std::unique_ptr<FeatureLookups> lookups_;
};

}  // namespace mlops::gateway
