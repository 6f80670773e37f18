#pragma once
// Live statistics of a rollout's variants over the current analysis window:
// per variant the rows, failures, latency and score samples (bounded rings),
// and for shadows the comparison with the primary. Thread-safe (one mutex per
// object; recording is a few stores).

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace mlops::gateway {

struct VariantSnapshot {
  int64_t requests = 0;
  int64_t errors = 0;
  double error_rate = 0;
  int64_t p50_latency_micros = 0;
  int64_t p99_latency_micros = 0;
  double mean_score = 0;
  std::vector<double> scores;  // the retained sample (most recent rows)
};

class VariantStats {
 public:
  explicit VariantStats(std::size_t max_samples = 8192) : max_samples_(max_samples) {}
  void RecordSuccess(int64_t latency_micros, double score);
  void RecordError(int64_t latency_micros);
  VariantSnapshot Snapshot() const;
  void Reset();

 private:
  const std::size_t max_samples_;
  mutable std::mutex mu_;
  int64_t requests_ = 0;
  int64_t errors_ = 0;
  double score_sum_ = 0;
  int64_t scored_ = 0;
  std::vector<int64_t> latencies_;
  std::vector<double> scores_;
  std::size_t latency_next_ = 0;
  std::size_t score_next_ = 0;
};

struct ShadowSnapshot {
  int64_t compared = 0;
  double agreement_rate = 0;
  double mean_abs_diff = 0;
  double max_abs_diff = 0;
  int64_t errors = 0;
  int64_t dropped = 0;
};

class ShadowComparison {
 public:
  void Record(double primary_score, double shadow_score, bool agree);
  void RecordError();
  void RecordDropped();
  ShadowSnapshot Snapshot() const;
  void Reset();

 private:
  mutable std::mutex mu_;
  ShadowSnapshot s_;
  int64_t agreed_ = 0;
  double diff_sum_ = 0;
};

// One rollout's statistics; reset when a step starts.
struct RolloutStats {
  VariantStats primary;
  VariantStats candidate;
  VariantStats shadow;
  ShadowComparison comparison;
  void Reset() {
    primary.Reset();
    candidate.Reset();
    shadow.Reset();
    comparison.Reset();
  }
};

// The q-quantile (0..1) of `values` by nearest rank; 0 when empty.
int64_t Quantile(std::vector<int64_t> values, double q);

}  // namespace mlops::gateway
