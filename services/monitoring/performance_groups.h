#pragma once

// What GetPerformance reads from the prediction log, computed from the
// logged batches (the packed rows of prediction_batches) and the labels that
// join them: per (version, window) the prediction and error counts, p50 /
// p99 latency (PostgreSQL's percentile_disc: the smallest value whose
// cumulative share reaches the fraction) and the (prediction, label) pairs.
// PerformanceAccumulator is a value type, not thread-safe; no Postgres.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "services/monitoring/label_quality.h"
#include "services/monitoring/prediction_log_batch.h"

namespace mlops::monitoring {

// The predictions of `model` (one version, or every version when 0) with
// timestamps in [start, end), grouped by version and by window of
// `window_micros` (0: one group per version, window start = `start_micros`).
struct PerformanceQuery {
  std::string model;
  int64_t version = 0;
  int64_t start_micros = 0;
  int64_t end_micros = 0;
  int64_t window_micros = 0;
};

struct PerformanceGroup {
  int64_t version = 0;
  int64_t window_start_micros = 0;
  int64_t predictions = 0;
  int64_t errors = 0;
  int64_t labelled = 0;
  int64_t p50_latency_micros = 0;
  int64_t p99_latency_micros = 0;
  std::vector<LabelledPrediction> pairs;  // the joined ones
};

// PostgreSQL's percentile_disc(fraction) of `values` (reordered); 0 when empty.
int64_t PercentileDisc(double fraction, std::vector<int64_t>* values);

class PerformanceAccumulator {
 public:
  explicit PerformanceAccumulator(PerformanceQuery query) : query_(std::move(query)) {}

  // Whether a row of `batch` belongs to the query (model, version, range).
  bool Selects(const PredictionLogBatch& batch, size_t row) const;

  // The selected rows of `batch`; `labels` maps a request id to its label
  // (the ones that join this model's predictions).
  void Add(const PredictionLogBatch& batch, const std::unordered_map<std::string_view, LabelValue>& labels);

  // Ordered by version, then window start.
  std::vector<PerformanceGroup> Finish();

 private:
  struct Group {
    PerformanceGroup out;
    std::vector<int64_t> latencies;
  };
  const PerformanceQuery query_;
  std::map<std::pair<int64_t, int64_t>, Group> groups_;  // (version, window start)
};

}  // namespace mlops::monitoring
