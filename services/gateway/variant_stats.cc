#include "services/gateway/variant_stats.h"

#include <algorithm>
#include <cmath>

namespace mlops::gateway {

int64_t Quantile(std::vector<int64_t> values, double q) {
  if (values.empty()) return 0;
  std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  if (rank > 0) --rank;
  if (rank >= values.size()) rank = values.size() - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank), values.end());
  return values[rank];
}

namespace {
template <class T>
void Push(std::vector<T>& ring, std::size_t& next, std::size_t max, T v) {
  if (ring.size() < max) {
    ring.push_back(v);
  } else {
    ring[next] = v;
    next = (next + 1) % max;
  }
}
}  // namespace

void VariantStats::RecordSuccess(int64_t latency_micros, double score) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_;
  Push(latencies_, latency_next_, max_samples_, latency_micros);
  if (std::isfinite(score)) {
    score_sum_ += score;
    ++scored_;
    Push(scores_, score_next_, max_samples_, score);
  }
}

void VariantStats::RecordError(int64_t latency_micros) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_;
  ++errors_;
  Push(latencies_, latency_next_, max_samples_, latency_micros);
}

VariantSnapshot VariantStats::Snapshot() const {
  VariantSnapshot s;
  std::vector<int64_t> latencies;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.requests = requests_;
    s.errors = errors_;
    s.mean_score = scored_ > 0 ? score_sum_ / static_cast<double>(scored_) : 0;
    s.scores = scores_;
    latencies = latencies_;
  }
  s.error_rate = s.requests > 0 ? static_cast<double>(s.errors) / static_cast<double>(s.requests) : 0;
  s.p50_latency_micros = Quantile(latencies, 0.5);
  s.p99_latency_micros = Quantile(std::move(latencies), 0.99);
  return s;
}

void VariantStats::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_ = errors_ = scored_ = 0;
  score_sum_ = 0;
  latencies_.clear();
  scores_.clear();
  latency_next_ = score_next_ = 0;
}

void ShadowComparison::Record(double primary_score, double shadow_score, bool agree) {
  std::lock_guard<std::mutex> lock(mu_);
  const double diff = std::fabs(primary_score - shadow_score);
  ++s_.compared;
  if (agree) ++agreed_;
  diff_sum_ += diff;
  s_.max_abs_diff = std::max(s_.max_abs_diff, diff);
  s_.agreement_rate = static_cast<double>(agreed_) / static_cast<double>(s_.compared);
  s_.mean_abs_diff = diff_sum_ / static_cast<double>(s_.compared);
}

void ShadowComparison::RecordError() {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.errors;
}

void ShadowComparison::RecordDropped() {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.dropped;
}

ShadowSnapshot ShadowComparison::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return s_;
}

void ShadowComparison::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  s_ = ShadowSnapshot{};
  agreed_ = 0;
  diff_sum_ = 0;
}

}  // namespace mlops::gateway
