#include "services/monitoring/prediction_log_batch.h"

#include <utility>

namespace mlops::monitoring {

void PackedStrings::Reserve(size_t n, size_t bytes) {
  ends_.reserve(n);
  bytes_.reserve(bytes);
}

void PackedStrings::Add(std::string_view s) {
  bytes_.append(s);
  Seal();
}

void PackedStrings::Truncate(size_t n) {
  if (n >= ends_.size()) return;
  bytes_.resize(n == 0 ? 0 : ends_[n - 1]);
  ends_.resize(n);
}

PredictionLogBatch::PredictionLogBatch(std::string model, int64_t version, std::string endpoint,
                                       int32_t variant)
    : model_(std::move(model)),
      version_(version),
      endpoint_(std::move(endpoint)),
      variant_(variant) {}

void PredictionLogBatch::Reserve(size_t rows, size_t feature_bytes) {
  request_ids_.Reserve(rows, rows * 24);
  timestamps_.reserve(rows);
  features_.Reserve(rows, feature_bytes);
  scores_.reserve(rows);
  has_score_.reserve(rows);
  labels_.Reserve(rows, 0);
  latencies_.reserve(rows);
  error_codes_.Reserve(rows, 0);
}

void PredictionLogBatch::Add(std::string_view request_id, int64_t timestamp_micros,
                             std::optional<double> score, std::string_view predicted_label,
                             int64_t latency_micros, std::string_view error_code) {
  request_ids_.Add(request_id);
  timestamps_.push_back(timestamp_micros);
  features_.Seal();
  scores_.push_back(score.value_or(0));
  has_score_.push_back(score.has_value() ? 1 : 0);
  labels_.Add(predicted_label);
  latencies_.push_back(latency_micros);
  error_codes_.Add(error_code);
}

void PredictionLogBatch::Truncate(size_t n) {
  if (n >= size()) return;
  request_ids_.Truncate(n);
  timestamps_.resize(n);
  features_.Truncate(n);
  scores_.resize(n);
  has_score_.resize(n);
  labels_.Truncate(n);
  latencies_.resize(n);
  error_codes_.Truncate(n);
}

}  // namespace mlops::monitoring
