#pragma once
// Random test data for point-in-time checks: small key and time ranges so
// that ties, nulls, TTL edges and window edges happen often. Deterministic
// for a seed. Header-only; tests only.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "services/features/feature_view.h"
#include "services/features/testing/rows.h"

namespace mlops::features::testing {

// id (INT64 or STRING), ts, x DOUBLE, n INT64, s STRING, b BOOL, t TIMESTAMP.
inline SourceSchema RandomSchema(DataType key_type) {
  return SourceSchema{{{"id", key_type, false},
                       {"ts", DataType::kTimestamp, false},
                       {"x", DataType::kDouble, true},
                       {"n", DataType::kInt64, true},
                       {"s", DataType::kString, true},
                       {"b", DataType::kBool, true},
                       {"t", DataType::kTimestamp, true}}};
}

// A view using every aggregation and type over RandomSchema.
inline FeatureViewDefinition RandomView(std::string name, int64_t ttl) {
  FeatureViewDefinition d;
  d.name = std::move(name);
  d.entity_column = "id";
  d.event_time_column = "ts";
  d.source_dataset = "events";
  d.ttl_micros = ttl;
  d.features = {
      {"x", "x", Aggregation::kRaw, 0},          {"n", "n", Aggregation::kRaw, 0},
      {"s", "s", Aggregation::kRaw, 0},          {"b", "b", Aggregation::kRaw, 0},
      {"t", "t", Aggregation::kRaw, 0},          {"x_sum_5", "x", Aggregation::kSum, 5},
      {"x_sum_30", "x", Aggregation::kSum, 30},  {"n_sum_4", "n", Aggregation::kSum, 4},
      {"n_mean_10", "n", Aggregation::kMean, 10}, {"x_mean_5", "x", Aggregation::kMean, 5},
      {"x_std_7", "x", Aggregation::kStddev, 7}, {"n_std_30", "n", Aggregation::kStddev, 30},
      {"x_min_5", "x", Aggregation::kMin, 5},    {"n_min_8", "n", Aggregation::kMin, 8},
      {"x_max_1", "x", Aggregation::kMax, 1},    {"t_max_20", "t", Aggregation::kMax, 20},
      {"s_count_3", "s", Aggregation::kCount, 3}, {"x_count_30", "x", Aggregation::kCount, 30},
      {"s_last_10", "s", Aggregation::kLast, 10}, {"b_last_10", "b", Aggregation::kLast, 10},
      {"x_last_2", "x", Aggregation::kLast, 2},
  };
  return d;
}

inline Value RandomKey(std::mt19937_64& rng, DataType key_type, int64_t lo, int64_t hi) {
  const int64_t k = std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  if (key_type == DataType::kInt64) return k;
  return "k" + std::to_string(k);
}

// `n` rows over keys [0, keys) and times [0, 40).
inline std::vector<Row> RandomRows(std::mt19937_64& rng, DataType key_type, size_t n,
                                   int64_t keys) {
  std::uniform_int_distribution<int> pct(0, 99);
  std::uniform_int_distribution<int64_t> time(0, 39);
  std::uniform_int_distribution<int64_t> small(-50, 50);
  std::normal_distribution<double> normal(0.0, 100.0);
  auto maybe = [&](Value v) { return pct(rng) < 25 ? Value(std::monostate{}) : v; };
  std::vector<Row> rows;
  for (size_t i = 0; i < n; ++i) {
    // Some huge values so that the order of summation shows in the result.
    const double x = pct(rng) < 10 ? normal(rng) * 1e15 : normal(rng);
    rows.push_back(Row{RandomKey(rng, key_type, 0, keys - 1), TimestampMicros{time(rng)},
                       maybe(x), maybe(small(rng)),
                       maybe(std::string(1, static_cast<char>('a' + pct(rng) % 5))),
                       maybe(pct(rng) < 50), maybe(TimestampMicros{small(rng)})});
  }
  return rows;
}

}  // namespace mlops::features::testing
