#pragma once
// Predictor: one Predict call from request to response. Resolves the
// endpoint, routes every row (primary / candidate / shadow mirror) by the
// endpoint's rollout, fetches missing inputs by entity key from the feature
// service (one batched GetOnlineFeatures per call, within the deadline),
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
#include "services/gateway/metrics.h"
#include "services/gateway/prediction_logger.h"

namespace mlops::gateway {

struct PredictorOptions {
  int max_rows = 1000;
  int64_t default_timeout_micros = 100'000;
  std::size_t shadow_queue = 256;  // pending shadow batches
  std::function<int64_t()> now_micros;
};

class Predictor {
 public:
  // None owned. `features`, `logger` and `metrics` may be null.
  Predictor(EndpointManager* endpoints, const PeerChannel* features, PredictionLogger* logger,
            GatewayMetrics* metrics, PredictorOptions options);

  // `deadline`: the gRPC deadline (time_point::max() if none).
  absl::StatusOr<inference::v1::PredictResponse> Predict(
      const inference::v1::PredictRequest& request,
      std::chrono::system_clock::time_point deadline);

  // Waits until queued shadow predictions are done (tests).
  void DrainShadows() { shadows_.Drain(); }

 private:
  struct Call;
  absl::StatusOr<inference::v1::PredictResponse> PredictRows(
      const inference::v1::PredictRequest& request, std::chrono::system_clock::time_point deadline);
  absl::Status FetchFeatures(Call& call);
  absl::Status PredictVariant(Call& call, bool candidate);
  void Shadow(std::shared_ptr<Call> call);
  void Log(const Call& call, const LoadedModel& model, monitoring::v1::Variant variant,
           const std::vector<int>& rows, const std::vector<common::v1::Row>& inputs,
           const std::vector<inference::v1::RowPrediction>& outputs, int64_t latency_micros);

  EndpointManager* const endpoints_;
  const PeerChannel* const features_;
  PredictionLogger* const logger_;
  GatewayMetrics* const metrics_;
  const PredictorOptions options_;
  std::unique_ptr<features::v1::FeatureService::Stub> feature_stub_;
  BoundedWorker shadows_;
};

}  // namespace mlops::gateway
