#pragma once
// A deliberately simple point-in-time evaluation for tests: for every query
// it scans ALL rows of the source (O(rows) per query), keeps the entity's
// rows at or before the time, orders them by time with a stable sort (ties
// stay in ingestion order), and applies the documented semantics directly.
// Written independently of EventTable and FeatureEvaluator.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/numeric/int128.h"
#include "services/features/feature_view.h"
#include "services/features/testing/rows.h"
#include "services/features/types.h"

namespace mlops::features::testing {

inline double AsDouble(const Value& v) {
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const bool* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  return static_cast<double>(std::get<int64_t>(v));
}

inline std::vector<FeatureValue> ReferenceEvaluate(const FeatureViewDefinition& def,
                                                   const SourceSchema& schema,
                                                   const std::vector<Row>& rows,
                                                   const Value& key, int64_t as_of) {
  const int key_col = schema.FindColumn(def.entity_column);
  const int time_col = schema.FindColumn(def.event_time_column);
  auto time_of = [&](size_t r) { return std::get<TimestampMicros>(rows[r][time_col]).micros; };
  std::vector<size_t> seen;  // the entity's rows at or before as_of, ingestion order
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r][key_col] == key && time_of(r) <= as_of) seen.push_back(r);
  }
  std::stable_sort(seen.begin(), seen.end(),
                   [&](size_t a, size_t b) { return time_of(a) < time_of(b); });
  std::vector<FeatureValue> out(def.features.size());
  for (size_t f = 0; f < def.features.size(); ++f) {
    const FeatureSpec& spec = def.features[f];
    const int col = schema.FindColumn(spec.source_column);
    const DataType type = schema.columns[col].type;
    FeatureValue& v = out[f];
    if (seen.empty()) {
      v.status = ValueStatus::kEntityUnknown;
      continue;
    }
    if (spec.aggregation == Aggregation::kRaw) {
      const size_t latest = seen.back();
      // as_of - t > ttl, in 128 bits so nothing overflows.
      const bool expired = def.ttl_micros > 0 &&
                           static_cast<absl::int128>(as_of) - time_of(latest) > def.ttl_micros;
      if (expired) {
        v.status = ValueStatus::kExpired;
      } else if (std::holds_alternative<std::monostate>(rows[latest][col])) {
        v.status = ValueStatus::kNull;
      } else {
        v.status = ValueStatus::kPresent;
        v.value = rows[latest][col];
      }
      continue;
    }
    std::vector<Value> in_window;  // non-null values in (as_of - w, as_of], event order
    for (size_t r : seen) {
      if (static_cast<absl::int128>(time_of(r)) > static_cast<absl::int128>(as_of) - spec.window_micros &&
          !std::holds_alternative<std::monostate>(rows[r][col])) {
        in_window.push_back(rows[r][col]);
      }
    }
    const size_t n = in_window.size();
    v.status = ValueStatus::kPresent;
    switch (spec.aggregation) {
      case Aggregation::kCount:
        v.value = static_cast<int64_t>(n);
        break;
      case Aggregation::kSum:
        if (n == 0) break;
        if (type == DataType::kDouble) {
          double s = 0.0;
          for (const Value& x : in_window) s += std::get<double>(x);
          v.value = s;
        } else {
          absl::int128 s = 0;  // NULL once a partial sum leaves the int64 range
          bool overflow = false;
          for (const Value& x : in_window) {
            s += type == DataType::kBool ? (std::get<bool>(x) ? 1 : 0) : std::get<int64_t>(x);
            overflow = overflow || s < std::numeric_limits<int64_t>::min() ||
                       s > std::numeric_limits<int64_t>::max();
          }
          if (!overflow) v.value = static_cast<int64_t>(s);
          if (overflow) v.status = ValueStatus::kNull;
        }
        break;
      case Aggregation::kMean:
      case Aggregation::kStddev: {
        if (n == 0) break;
        double s = 0.0;
        for (const Value& x : in_window) s += AsDouble(x);
        const double mean = s / static_cast<double>(n);
        if (spec.aggregation == Aggregation::kMean) {
          v.value = mean;
          break;
        }
        double m2 = 0.0;
        for (const Value& x : in_window) m2 += (AsDouble(x) - mean) * (AsDouble(x) - mean);
        v.value = std::sqrt(m2 / static_cast<double>(n));
        break;
      }
      case Aggregation::kMin:
      case Aggregation::kMax: {
        if (n == 0) break;
        Value best = in_window[0];
        for (const Value& x : in_window) {
          const bool better = spec.aggregation == Aggregation::kMin ? x < best : best < x;
          if (better) best = x;
        }
        v.value = best;
        break;
      }
      case Aggregation::kLast:
        if (n > 0) v.value = in_window.back();
        break;
      case Aggregation::kRaw:
        break;
    }
    if (n == 0 && spec.aggregation != Aggregation::kCount) {
      v.status = ValueStatus::kNull;
    }
  }
  return out;
}

}  // namespace mlops::features::testing
