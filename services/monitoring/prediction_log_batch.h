#pragma once

// The raw log rows of one LogPredictions message (one model version,
// endpoint and variant), packed column by column: numbers in flat vectors,
// strings concatenated with their end offsets. A batch of n rows costs a
// handful of allocations instead of ~5 per row. A value type; not
// thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace mlops::monitoring {

// Strings concatenated, with each one's end offset.
class PackedStrings {
 public:
  void Reserve(size_t n, size_t bytes);
  void Add(std::string_view s);
  // The next string is appended to *Open(), then sealed by Seal().
  std::string* Open() { return &bytes_; }
  void Seal() { ends_.push_back(bytes_.size()); }
  std::string_view Get(size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(bytes_).substr(begin, ends_[i] - begin);
  }
  size_t size() const { return ends_.size(); }
  void Truncate(size_t n);

 private:
  std::string bytes_;
  std::vector<size_t> ends_;
};

class PredictionLogBatch {
 public:
  PredictionLogBatch() = default;
  PredictionLogBatch(std::string model, int64_t version, std::string endpoint, int32_t variant);

  void Reserve(size_t rows, size_t feature_bytes);
  // One row. Its features (a serialized common.v1.Row) are appended to
  // *features_buffer() immediately before the call (nothing else between).
  std::string* features_buffer() { return features_.Open(); }
  void Add(std::string_view request_id, int64_t timestamp_micros, std::optional<double> score,
           std::string_view predicted_label, int64_t latency_micros, std::string_view error_code);
  // Keeps the first n rows.
  void Truncate(size_t n);

  size_t size() const { return timestamps_.size(); }
  const std::string& model() const { return model_; }
  int64_t version() const { return version_; }
  const std::string& endpoint() const { return endpoint_; }
  int32_t variant() const { return variant_; }
  std::string_view request_id(size_t i) const { return request_ids_.Get(i); }
  int64_t timestamp_micros(size_t i) const { return timestamps_[i]; }
  std::string_view features(size_t i) const { return features_.Get(i); }
  std::optional<double> score(size_t i) const {
    return has_score_[i] ? std::optional<double>(scores_[i]) : std::nullopt;
  }
  std::string_view predicted_label(size_t i) const { return labels_.Get(i); }
  int64_t latency_micros(size_t i) const { return latencies_[i]; }
  std::string_view error_code(size_t i) const { return error_codes_.Get(i); }

 private:
  std::string model_;
  int64_t version_ = 0;
  std::string endpoint_;
  int32_t variant_ = 0;
  PackedStrings request_ids_;
  std::vector<int64_t> timestamps_;
  PackedStrings features_;
  std::vector<double> scores_;
  std::vector<char> has_score_;
  PackedStrings labels_;
  std::vector<int64_t> latencies_;
  PackedStrings error_codes_;
};

// How many writers have a partition of the request-id table of their own
// (migration 0006).
inline constexpr int kPredictionLogWriters = 2;

// Where the prediction log's batches go (the MonitoringStore; a fake in
// tests). Implementations are thread-safe.
class PredictionLogSink {
 public:
  virtual ~PredictionLogSink() = default;
  // Appends the batches' rows (one transaction): all or none. `writer`
  // (>= 0): the calling writer thread's index; calls with different
  // writers modulo kPredictionLogWriters do not contend for an index.
  virtual absl::Status AppendPredictions(const std::vector<PredictionLogBatch>& batches,
                                         int writer) = 0;
};

}  // namespace mlops::monitoring
